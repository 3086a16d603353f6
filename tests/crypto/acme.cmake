# crypto/acme: keys, JWK thumbprints, ES256 JWS checked with libcrypto, CSRs read back, chains.
list(APPEND vmx_crypto_test_sources ${CMAKE_CURRENT_LIST_DIR}/acme_key_test.cc)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
find_package(nlohmann_json 3 REQUIRED)
set(vmx_crypto_test_libs ${vmx_crypto_test_libs} OpenSSL::Crypto nlohmann_json::nlohmann_json)
