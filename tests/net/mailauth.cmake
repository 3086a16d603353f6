# Mail authentication's pure parts: tag lists, Authentication-Results, header fields.
list(APPEND vmx_net_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/mailauth/auth_results_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/mailauth/tag_list_test.cc
)
