# DNS for delivery: the name checks and the MX plan (pure).
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/dns/dns_name_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/mx_plan_test.cc
)
