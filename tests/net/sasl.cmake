# net/sasl tests: strict base64 and the PLAIN message split; the client side's base64 and PLAIN response.
list(APPEND vmx_net_test_sources ${CMAKE_CURRENT_LIST_DIR}/sasl/sasl_plain_test.cc ${CMAKE_CURRENT_LIST_DIR}/sasl/sasl_client_test.cc)
# Both sides of SASL PLAIN under libFuzzer (ctest: fuzz.sasl_fuzz).
vmx_fuzz_replay(sasl_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/sasl_fuzz.cc LIBS vmx_net CORPUS sasl)
