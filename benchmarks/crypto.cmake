# Crypto benchmarks. crypto_bench: AES-256-GCM seal/open per core for ipsec-mb (crypto/aead.h),
# wolfSSL software, wolfSSL through our crypto-callback device, and OpenSSL EVP. tls_bench: in-memory
# TLS 1.3 AES-256-GCM throughput with and without the device.
# Only libcrypto is linked, never libssl: libssl.so.3 and libwolfssl.so.35 export six SSL_* symbols
# of the same name, and OpenSSL stays in its own translation unit (openssl_gcm.cc) because Debian's
# wolfSSL headers clash with OpenSSL's.
find_package(benchmark REQUIRED)
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)

add_executable(crypto_bench ${CMAKE_CURRENT_LIST_DIR}/crypto_bench.cc ${CMAKE_CURRENT_LIST_DIR}/openssl_gcm.cc)
target_link_libraries(crypto_bench PRIVATE vmx_crypto PkgConfig::WOLFSSL PkgConfig::LIBCRYPTO benchmark::benchmark)
vmx_link_allocator(crypto_bench)

# The server certificate comes from the test data, as in tests/crypto.
add_executable(tls_bench ${CMAKE_CURRENT_LIST_DIR}/tls_bench.cc)
target_compile_definitions(tls_bench PRIVATE VMX_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data")
target_link_libraries(tls_bench PRIVATE vmx_crypto PkgConfig::WOLFSSL)
vmx_link_allocator(tls_bench)
