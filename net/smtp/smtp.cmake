# net/smtp: the SMTP server engine (pure: bytes in, effects out), its path parser, the
# Received: header helper, the header scanner and mailbox-list parser submission uses, and the
# SMTP client engine of outbound delivery (pure too: server bytes in, commands out).
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/address_list.cc
    ${CMAKE_CURRENT_LIST_DIR}/client.cc
    ${CMAKE_CURRENT_LIST_DIR}/client_text.cc
    ${CMAKE_CURRENT_LIST_DIR}/headers.cc
    ${CMAKE_CURRENT_LIST_DIR}/path.cc
    ${CMAKE_CURRENT_LIST_DIR}/received.cc
    ${CMAKE_CURRENT_LIST_DIR}/session.cc
    ${CMAKE_CURRENT_LIST_DIR}/session_data.cc
    ${CMAKE_CURRENT_LIST_DIR}/session_submission.cc
)
