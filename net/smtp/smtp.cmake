# net/smtp: the SMTP server engine (pure: bytes in, effects out), its path parser and the
# Received: header helper.
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/path.cc
    ${CMAKE_CURRENT_LIST_DIR}/received.cc
    ${CMAKE_CURRENT_LIST_DIR}/session.cc
)
