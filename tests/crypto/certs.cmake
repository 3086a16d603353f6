# Tests of crypto/self_signed_cert: the pair loads into wolfSSL, an in-memory TLS 1.3 handshake
# verifies it, the SAN holds the names, files are created 0600/0644 and never overwritten.
# VMX_TEST_DATA_DIR only because tests/crypto/tls_pair.h (whose in-memory pipes it uses) requires it.
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/self_signed_cert_test.cc)
set_property(SOURCE ${CMAKE_CURRENT_LIST_DIR}/self_signed_cert_test.cc APPEND PROPERTY
             COMPILE_DEFINITIONS VMX_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data")
