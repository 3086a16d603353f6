# Tests of crypto/dkim_key: keys of both algorithms, their p= values checked by signing with OpenSSL
# and verifying with the public key decoded from p=. libcrypto comes through vmx_crypto's link.
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/dkim_key_test.cc)
