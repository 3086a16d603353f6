# Tests of crypto/webauthn against vectors made by data/make_webauthn_vectors.py, and its fuzz target
# (ctest: fuzz.webauthn_fuzz; libFuzzer: scripts/fuzz), seeded by the same script.
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/webauthn_test.cc)
vmx_fuzz_replay(webauthn_fuzz SOURCES ${CMAKE_CURRENT_LIST_DIR}/../fuzz/webauthn_fuzz.cc LIBS vmx_crypto CORPUS webauthn)
