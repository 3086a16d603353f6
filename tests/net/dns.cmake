# DNS for delivery: the name checks and the MX plan (pure), and the resolver against a real unbound
# started on loopback by the test itself (scripts/install-deps installs unbound).
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/dns/dns_name_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/mx_plan_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/resolver_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/sync_resolver_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/unbound_server.cc
)
