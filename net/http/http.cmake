# net/http: the HTTP/1.x request head parser the metrics endpoint reads scrapes with, and the
# request engine, response writer and form helpers of the self-service portal.
target_sources(vmx_net PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/request_head.cc
    ${CMAKE_CURRENT_LIST_DIR}/request.cc
    ${CMAKE_CURRENT_LIST_DIR}/response.cc
    ${CMAKE_CURRENT_LIST_DIR}/form.cc)
