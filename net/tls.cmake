# TLS over the ring: contexts (policy, certificates, SNI, resumption), the TlsSession filter, and the
# stream layer the protocol adapters use with or without TLS.
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/tls/tls_context.cc
    ${CMAKE_CURRENT_LIST_DIR}/tls/tls_session.cc
    ${CMAKE_CURRENT_LIST_DIR}/stream/stream.cc)
target_link_libraries(vmx_net PUBLIC PkgConfig::WOLFSSL)
