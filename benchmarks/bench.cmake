# `cmake --build build --target bench`: runs every micro-benchmark through scripts/bench and leaves
# one JSON file per benchmark in <build>/bench-results; bench.micro_json checks that plumbing with a
# --quick run. Included at the end of benchmarks/CMakeLists.txt.
set(vmx_micro_benchmarks core_bench crypto_bench store_bench tls_bench)

add_custom_target(bench
    COMMAND ${CMAKE_SOURCE_DIR}/scripts/bench --build-dir ${CMAKE_BINARY_DIR}
    DEPENDS ${vmx_micro_benchmarks}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
    USES_TERMINAL
    COMMENT "Running the micro-benchmarks (JSON in ${CMAKE_BINARY_DIR}/bench-results)")

# Not under the sanitizers or the fuzzing build: their timings mean nothing, and the sealed store
# runs and Argon2 would take several times the test's budget there.
if(NOT vmx_build_type STREQUAL "asan" AND NOT VMX_FUZZ)
    # This folder is added before the top level's enable_testing(); without this its tests are dropped.
    enable_testing()
    find_package(Python3 REQUIRED COMPONENTS Interpreter)
    add_test(NAME bench.micro_json
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/benchmarks/micro_json_test.py -v)
    set_tests_properties(bench.micro_json PROPERTIES
        ENVIRONMENT "VMX_BUILD_DIR=${CMAKE_BINARY_DIR};VMX_SOURCE_DIR=${CMAKE_SOURCE_DIR};PYTHONDONTWRITEBYTECODE=1"
        RUN_SERIAL TRUE  # it loads both cores for seconds; alongside other tests it would skew their timeouts
        TIMEOUT 180)
endif()
