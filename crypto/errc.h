// Error codes of the crypto layer, with their std::error_category.
#pragma once

#include <system_error>

namespace vmx::crypto {

enum class CryptoErrc {
    ok = 0,
    authentication_failed = 1,   // a GCM tag or key-wrap integrity check did not match
    bad_record = 2,              // a sealed record is truncated or its header is malformed
    unsupported_version = 3,     // a record or key blob of a format version this build cannot read
    wrong_identity = 4,          // the record was sealed for another identity (store, segment, id...)
    key_not_found = 5,           // no key with that id and version
    key_destroyed = 6,           // the key was destroyed (crypto-shredding): the data is gone
    key_file_insecure = 7,       // the master key file is readable by group or others
    key_file_invalid = 8,        // the master key file does not hold exactly 256 bits
    random_failed = 9,           // the kernel's random source failed
    invalid_argument = 10,       // a length or parameter outside what the primitive accepts
    usage_exhausted = 11,        // a long-lived GCM key reached its invocation budget
    password_hash_failed = 12,   // Argon2id could not hash (parameters, memory)
    tls_setup_failed = 13,       // the wolfSSL crypto-callback device could not be registered
    key_generation_failed = 14,  // a new asymmetric key (DKIM) could not be made or written out
};

const std::error_category& crypto_category() noexcept;

inline std::error_code make_error_code(CryptoErrc e) noexcept { return {static_cast<int>(e), crypto_category()}; }

}  // namespace vmx::crypto

template <>
struct std::is_error_code_enum<vmx::crypto::CryptoErrc> : std::true_type {};
