# The mail load harness behind `vaultmx-bench smtp|pop3|mixed|sink`: pure protocol clients, the
# io_uring driver, the reports and the discard server, as one library the bench tool and its unit
# tests share.
add_library(vmx_mail_load STATIC
    ${CMAKE_CURRENT_LIST_DIR}/message_source.cc
    ${CMAKE_CURRENT_LIST_DIR}/load_stats.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp_client.cc
    ${CMAKE_CURRENT_LIST_DIR}/pop3_client.cc
    ${CMAKE_CURRENT_LIST_DIR}/pace_schedule.cc
    ${CMAKE_CURRENT_LIST_DIR}/load_driver.cc
    ${CMAKE_CURRENT_LIST_DIR}/load_run.cc
    ${CMAKE_CURRENT_LIST_DIR}/load_report.cc
    ${CMAKE_CURRENT_LIST_DIR}/smtp_sink.cc
    ${CMAKE_CURRENT_LIST_DIR}/mail_commands.cc
)
target_link_libraries(vmx_mail_load PUBLIC vmx_net vmx_core CLI11::CLI11 fmt::fmt)
