# The directory: rules, blind index, sealing, persistence.
list(APPEND vmx_appliance_unit_sources ${CMAKE_CURRENT_LIST_DIR}/directory_test.cc)
