# net/dns: DNS for outbound delivery. The pure parts (name checks, the MX delivery plan) and the
# resolver, a helper thread per shard that runs a c-ares channel (libcares, linked here).
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/ares_answers.cc
    ${CMAKE_CURRENT_LIST_DIR}/ares_category.cc
    ${CMAKE_CURRENT_LIST_DIR}/ares_loop.cc
    ${CMAKE_CURRENT_LIST_DIR}/ares_servers.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns_name.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns_types.cc
    ${CMAKE_CURRENT_LIST_DIR}/mx_plan.cc
    ${CMAKE_CURRENT_LIST_DIR}/resolver.cc
    ${CMAKE_CURRENT_LIST_DIR}/sync_resolver.cc
)
target_link_libraries(vmx_net PRIVATE PkgConfig::CARES)
