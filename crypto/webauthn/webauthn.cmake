# crypto/webauthn: server-side WebAuthn for the portal's security keys and passkeys: a bounded CBOR
# decoder, clientDataJSON (nlohmann/json, header-only, parsed without exceptions), authenticator
# data, COSE keys, and ES256/Ed25519 verification with OpenSSL's libcrypto (as for DKIM keys: these
# sources include no wolfSSL header).
find_package(nlohmann_json 3 REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
target_sources(vmx_crypto PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/errc.cc
    ${CMAKE_CURRENT_LIST_DIR}/cbor.cc
    ${CMAKE_CURRENT_LIST_DIR}/authenticator_data.cc
    ${CMAKE_CURRENT_LIST_DIR}/client_data.cc
    ${CMAKE_CURRENT_LIST_DIR}/cose_key.cc
    ${CMAKE_CURRENT_LIST_DIR}/webauthn.cc)
target_link_libraries(vmx_crypto PRIVATE OpenSSL::Crypto nlohmann_json::nlohmann_json)
