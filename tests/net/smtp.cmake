# SMTP engine tests: transcripts fed in one block and one byte at a time (MX and submission; recipient
# verdicts given at once and later), the
# attacks, the path parser, the Received: header, the header scanner and mailbox-list parser, the
# client engine's transcripts (AUTH towards a smarthost in its own file); the fuzz targets of the engine in both modes, of the header scanner
# and of the client engine (ctest: fuzz.smtp_*).
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/smtp/session_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/rcpt_wait_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/attack_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/received_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/headers_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/address_list_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/submission_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/client_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp/client_auth_test.cc
)
# One line each: scripts/fuzz finds targets and corpora with sed.
vmx_fuzz_replay(smtp_session_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/smtp_session_fuzz.cc LIBS vmx_net CORPUS smtp_session)
vmx_fuzz_replay(smtp_headers_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/smtp_headers_fuzz.cc LIBS vmx_net CORPUS smtp_headers)
vmx_fuzz_replay(smtp_submission_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/smtp_submission_fuzz.cc LIBS vmx_net CORPUS smtp_submission)
vmx_fuzz_replay(smtp_client_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/smtp_client_fuzz.cc LIBS vmx_net CORPUS smtp_client)
vmx_fuzz_replay(smtp_path_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/smtp_path_fuzz.cc LIBS vmx_net CORPUS smtp_path)
