# net/http: the HTTP/1.x request head parser the metrics endpoint reads scrapes with.
target_sources(vmx_net PRIVATE ${CMAKE_CURRENT_LIST_DIR}/request_head.cc)
