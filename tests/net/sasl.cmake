# net/sasl tests: strict base64 and the PLAIN message split.
list(APPEND vmx_net_test_sources ${CMAKE_CURRENT_LIST_DIR}/sasl/sasl_plain_test.cc)
