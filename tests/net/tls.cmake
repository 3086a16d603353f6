# TLS layer: TlsSession pairs in memory, the stream layer on a real engine on loopback, and the
# record fuzz target. The test certificates are found through VMX_TEST_DATA_DIR.
set(vmx_net_tls_tests
    ${CMAKE_CURRENT_LIST_DIR}/tls/tls_session_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/tls/stream_test.cc)
list(APPEND vmx_net_test_sources ${vmx_net_tls_tests})
set_property(SOURCE ${vmx_net_tls_tests} APPEND PROPERTY
             COMPILE_DEFINITIONS VMX_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data")

# Arbitrary client bytes into a server TlsSession (ctest: fuzz.tls_record_fuzz; libFuzzer: scripts/fuzz).
vmx_fuzz_replay(tls_record_fuzz SOURCES ${CMAKE_SOURCE_DIR}/tests/fuzz/tls_record_fuzz.cc LIBS vmx_net CORPUS tls_record)
set_property(SOURCE ${CMAKE_SOURCE_DIR}/tests/fuzz/tls_record_fuzz.cc APPEND PROPERTY
             COMPILE_DEFINITIONS VMX_TEST_DATA_DIR="${CMAKE_SOURCE_DIR}/tests/data")
