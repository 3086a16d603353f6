# POP3 service parts: login throttle, network policy, auth workers, maildrop lock and deletions.
list(APPEND vmx_appliance_unit_sources
    ${CMAKE_CURRENT_LIST_DIR}/pop3_throttle_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/pop3_auth_workers_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/pop3_maildrop_test.cc)
