# DNS for delivery: the name checks and the MX plan (pure), and the resolver against a real unbound
# started on loopback by the test itself (scripts/install-deps installs unbound).
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/dns/dns_name_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/mx_plan_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/resolver_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/sync_resolver_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns/unbound_server.cc
)
# Raw DNS answers into the record readers and the MX plan (ctest: fuzz.dns_answer_fuzz).
vmx_fuzz_replay(dns_answer_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/dns_answer_fuzz.cc LIBS vmx_net CORPUS dns_answer)
