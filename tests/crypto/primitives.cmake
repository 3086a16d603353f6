# Tests of the crypto primitives (random, SecretBytes, AES-GCM, key wrap, HKDF, HMAC, sealed records,
# usage budget) and the sealed-record fuzz target.
list(APPEND vmx_crypto_test_sources
    ${CMAKE_CURRENT_LIST_DIR}/secret_bytes_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/aead_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/key_wrap_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/hkdf_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/hmac_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/sealed_record_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/sealed_stream_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/usage_budget_test.cc)

# The sealed-record fuzz target (ctest: fuzz.sealed_record_fuzz; libFuzzer: scripts/fuzz).
vmx_fuzz_replay(sealed_record_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/sealed_record_fuzz.cc LIBS vmx_crypto CORPUS sealed_record)
