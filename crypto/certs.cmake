# Self-signed certificates for `vaultmx init --self-signed`: an ECDSA P-256 key and an X.509
# certificate made with wolfCrypt (Debian's wolfSSL has CERT_GEN, ALT_NAMES and CERT_EXT).
# PkgConfig::WOLFSSL comes from the top level.
target_sources(vmx_crypto PRIVATE ${CMAKE_CURRENT_LIST_DIR}/self_signed_cert.cc)
target_link_libraries(vmx_crypto PRIVATE PkgConfig::WOLFSSL)
