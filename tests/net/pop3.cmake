# net/pop3 tests: transcripts of the engine, the body encoder; the engine's fuzz target.
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/pop3/session_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/pop3/body_encoder_test.cc)
vmx_fuzz_replay(pop3_session_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/pop3_session_fuzz.cc LIBS vmx_net CORPUS pop3_session)
# The body encoder on its own: chunking, dot-stuffing, TOP (ctest: fuzz.pop3_body_fuzz).
vmx_fuzz_replay(pop3_body_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/pop3_body_fuzz.cc LIBS vmx_net CORPUS pop3_body)
