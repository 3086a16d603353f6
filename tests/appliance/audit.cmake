# The audit log's unit tests (chain, sealing, tamper tests on the raw LMDB file, redaction).
list(APPEND vmx_appliance_unit_sources ${CMAKE_CURRENT_LIST_DIR}/audit_log_test.cc)
