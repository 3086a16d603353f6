# The key hierarchy: master key file, scope keys by plan, versions, rotation, destruction.
target_sources(vmx_crypto PRIVATE ${CMAKE_CURRENT_LIST_DIR}/master_key.cc ${CMAKE_CURRENT_LIST_DIR}/keyring.cc
    ${CMAKE_CURRENT_LIST_DIR}/appliance_secret.cc)
