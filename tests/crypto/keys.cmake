list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/master_key_test.cc ${CMAKE_CURRENT_LIST_DIR}/keyring_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/appliance_secret_test.cc)
