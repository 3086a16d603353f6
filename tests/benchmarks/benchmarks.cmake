# The load harness (benchmarks/mail): unit tests of its pure pieces, the fuzz target of its client
# engines, and the harness driven against the discard server and the real daemon.
vmx_unit_test(bench_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/mail_load_test.cc
    LIBS vmx_mail_load)
vmx_fuzz_replay(load_client_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/load_client_fuzz.cc LIBS vmx_mail_load CORPUS load_client)
add_test(NAME integration.bench
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/../integration/bench_test.py -v)
set_tests_properties(integration.bench PROPERTIES
    ENVIRONMENT "VMX_BIN_DIR=${CMAKE_RUNTIME_OUTPUT_DIRECTORY};PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 300)
# benchmarks/compare's own logic (ack log, Maildir verification, the peers' configurations), without
# installing anything.
add_test(NAME bench.compare_logic
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/compare_test.py -v)
set_tests_properties(bench.compare_logic PROPERTIES ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1" TIMEOUT 60)
