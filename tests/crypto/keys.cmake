list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/master_key_test.cc ${CMAKE_CURRENT_LIST_DIR}/keyring_test.cc ${CMAKE_CURRENT_LIST_DIR}/account_keys_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/appliance_secret_test.cc)
# Scope key records as the keys store holds them (ctest: fuzz.key_record_fuzz; libFuzzer: scripts/fuzz).
vmx_fuzz_replay(key_record_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/key_record_fuzz.cc LIBS vmx_crypto CORPUS key_record)
