# Mail authentication's pure parts: tag lists, Authentication-Results, header fields, DKIM canonicalization.
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/mailauth/auth_results_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/mailauth/dkim_canon_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/mailauth/tag_list_test.cc
)
# The parsers under libFuzzer (ctest: fuzz.mailauth_headers_fuzz replays the corpus).
vmx_fuzz_replay(mailauth_headers_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/mailauth_headers_fuzz.cc LIBS vmx_net CORPUS mailauth_headers)
