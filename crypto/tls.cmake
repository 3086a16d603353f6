# The wolfSSL crypto-callback device: TLS AES-256-GCM records through crypto/aead.h (ipsec-mb).
target_sources(vmx_crypto PRIVATE ${CMAKE_CURRENT_LIST_DIR}/tls_crypto_device.cc)
target_link_libraries(vmx_crypto PUBLIC PkgConfig::WOLFSSL)
