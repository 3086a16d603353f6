# Tests of crypto/password and crypto/totp.
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/password_test.cc ${CMAKE_CURRENT_LIST_DIR}/totp_test.cc)
