# The audit log (hash-chained, sealed admin command log in the global `audit` environment).
# SHA-256 of the chain comes from wolfCrypt (PkgConfig::WOLFSSL from the top level).
target_sources(vmx_appliance PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/audit_entry.cc
    ${CMAKE_CURRENT_LIST_DIR}/audit_chain.cc
    ${CMAKE_CURRENT_LIST_DIR}/audit_log.cc
    ${CMAKE_CURRENT_LIST_DIR}/audit_verify.cc)
target_link_libraries(vmx_appliance PRIVATE PkgConfig::WOLFSSL)
