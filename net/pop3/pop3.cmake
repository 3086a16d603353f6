# net/pop3: the POP3 server engine (pure: bytes in, effects out) and its helpers.
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/session.cc
    ${CMAKE_CURRENT_LIST_DIR}/commands.cc
    ${CMAKE_CURRENT_LIST_DIR}/body_encoder.cc)
