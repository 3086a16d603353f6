# DKIM signing keys (RSA 2048, ed25519): generated and read with OpenSSL's libcrypto, the library
# libopendkim signs with. libcrypto only, never libssl (libssl.so.3 and libwolfssl export SSL_*
# symbols of the same name); dkim_key.cc and crypto/webauthn/ are the only sources that include
# OpenSSL headers.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
target_sources(vmx_crypto PRIVATE ${CMAKE_CURRENT_LIST_DIR}/dkim_key.cc)
target_link_libraries(vmx_crypto PRIVATE OpenSSL::Crypto)
