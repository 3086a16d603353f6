# Passwords (Argon2id through libsodium, or libargon2 for the parameters libsodium does not take)
# and TOTP (HMAC-SHA1 through wolfCrypt). The pkg-config targets are found at top level.
target_sources(vmx_crypto PRIVATE ${CMAKE_CURRENT_LIST_DIR}/password.cc ${CMAKE_CURRENT_LIST_DIR}/totp.cc)
target_link_libraries(vmx_crypto PUBLIC PkgConfig::ARGON2 PkgConfig::SODIUM PkgConfig::WOLFSSL)
