# crypto/acme: the account and certificate keys of ACME (RFC 8555), JWS with ES256, CSRs and reading
# PEM chains, with OpenSSL's libcrypto (these sources include no wolfSSL header).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3 REQUIRED)
target_sources(vmx_crypto PRIVATE ${CMAKE_CURRENT_LIST_DIR}/acme_key.cc)
target_link_libraries(vmx_crypto PRIVATE OpenSSL::Crypto nlohmann_json::nlohmann_json)
