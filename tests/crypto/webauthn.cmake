# Tests of crypto/webauthn against vectors made by data/make_webauthn_vectors.py.
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/webauthn_test.cc)
