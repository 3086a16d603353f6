# Tests of crypto/password and crypto/totp.
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/password_test.cc ${CMAKE_CURRENT_LIST_DIR}/totp_test.cc)
# PHC strings and base32 TOTP secrets under libFuzzer (ctest: fuzz.credential_text_fuzz).
vmx_fuzz_replay(credential_text_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/credential_text_fuzz.cc LIBS vmx_crypto CORPUS credential_text)
