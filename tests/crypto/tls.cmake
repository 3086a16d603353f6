# The wolfSSL crypto-callback device: in-memory TLS 1.2/1.3 sessions through it, byte-identity with
# wolfSSL's software AES-GCM, tampering and fallbacks. The test certificates are found through
# VMX_TEST_DATA_DIR (ctest runs crypto_test in the build tree).
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/tls_device_test.cc)
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/tls_device_test.cc APPEND PROPERTY
             COMPILE_DEFINITIONS VMX_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data")
