# SMTP engine tests: transcripts fed in one block and one byte at a time, the attacks, the path
# parser and the Received: header; the engine's fuzz target (ctest: fuzz.smtp_session_fuzz).
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/smtp/session_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/attack_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/received_test.cc
)
# One line: scripts/fuzz finds targets and corpora with sed.
vmx_fuzz_replay(smtp_session_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/smtp_session_fuzz.cc LIBS vmx_net CORPUS smtp_session)
