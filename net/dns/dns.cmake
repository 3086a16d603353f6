# net/dns: DNS for outbound delivery: the name checks and the MX delivery plan (pure).
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/dns_name.cc
    ${CMAKE_CURRENT_LIST_DIR}/dns_types.cc
    ${CMAKE_CURRENT_LIST_DIR}/mx_plan.cc
)
