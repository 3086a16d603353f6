# Primitives: random bytes, secret memory, AES-256-GCM (ipsec-mb), AES key wrap (ipsec-mb ECB),
# HKDF-SHA256 and HMAC-SHA256 (wolfCrypt), sealed records. IPSEC_MB_LIB and PkgConfig::WOLFSSL come
# from the top level.
target_sources(vmx_crypto PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/random.cc
    ${CMAKE_CURRENT_LIST_DIR}/secret_bytes.cc
    ${CMAKE_CURRENT_LIST_DIR}/aead.cc
    ${CMAKE_CURRENT_LIST_DIR}/key_wrap.cc
    ${CMAKE_CURRENT_LIST_DIR}/hkdf.cc
    ${CMAKE_CURRENT_LIST_DIR}/hmac.cc
    ${CMAKE_CURRENT_LIST_DIR}/sha256.cc
    ${CMAKE_CURRENT_LIST_DIR}/sealed_record.cc
    ${CMAKE_CURRENT_LIST_DIR}/sealed_record_v1.cc
    ${CMAKE_CURRENT_LIST_DIR}/sealed_stream.cc)
target_link_libraries(vmx_crypto PRIVATE ${IPSEC_MB_LIB} PkgConfig::WOLFSSL)
