# Login history, sessions, admin argument parsing.
list(APPEND vmx_appliance_unit_sources ${CMAKE_CURRENT_LIST_DIR}/login_history_test.cc)
