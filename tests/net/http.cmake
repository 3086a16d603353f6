# net/http tests: the request head parser and the portal's request engine, whole and byte by byte,
# and their hostile cases; the response writer and the form helpers (ctest: http.*), in an
# executable of their own.
vmx_unit_test(net_http_test PREFIX http.
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/http/request_head_test.cc ${CMAKE_CURRENT_LIST_DIR}/http/request_test.cc
            ${CMAKE_CURRENT_LIST_DIR}/http/response_test.cc ${CMAKE_CURRENT_LIST_DIR}/http/form_test.cc
    LIBS vmx_net)
# The request head parser under libFuzzer (ctest: fuzz.http_request_fuzz).
vmx_fuzz_replay(http_request_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/http_request_fuzz.cc LIBS vmx_net CORPUS http_request)
# The portal's request engine and its form, target and cookie readers (ctest: fuzz.http_message_fuzz).
vmx_fuzz_replay(http_message_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/http_message_fuzz.cc LIBS vmx_net CORPUS http_message)
