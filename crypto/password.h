// Password hashing with Argon2id (RFC 9106) through libsodium or libargon2, stored as PHC strings
// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<tag b64>". Stateless; any thread, but
// each call allocates memory_kib and burns CPU for it: callers bound how many run at once.
// Invariants: every parameter is bounds-checked before libargon2 sees it; passwords are never
// copied, logged or kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vmx::crypto {

// Hard limits. They apply to our own parameters (validate) and to every stored string we parse,
// so a tampered or foreign hash cannot make a login allocate gigabytes or spin for minutes.
inline constexpr std::size_t password_bytes_max = 1024;
inline constexpr std::size_t password_encoded_bytes_max = 512;
inline constexpr std::uint32_t argon2_memory_kib_max = 1024 * 1024;  // 1 GiB
inline constexpr std::uint32_t argon2_iterations_max = 64;
inline constexpr std::uint32_t argon2_parallelism_max = 64;
inline constexpr std::uint32_t argon2_salt_bytes_min = 8;    // libargon2's own minimum
inline constexpr std::uint32_t argon2_salt_bytes_max = 64;
inline constexpr std::uint32_t argon2_hash_bytes_min = 16;
inline constexpr std::uint32_t argon2_hash_bytes_max = 64;

struct Argon2Params {
    std::uint32_t memory_kib = 65536;
    std::uint32_t iterations = 3;
    std::uint32_t parallelism = 1;
    std::uint32_t salt_bytes = 16;
    std::uint32_t hash_bytes = 32;

    friend bool operator==(const Argon2Params&, const Argon2Params&) = default;
};

// CryptoErrc::invalid_argument when a field is outside the limits above, or memory_kib is below
// the 8 KiB per lane that Argon2 needs.
Result<void> validate(const Argon2Params& params);

// A new PHC string with a fresh random salt (getrandom). Errors: invalid_argument (bad params, or
// a password over password_bytes_max), random_failed, password_hash_failed (libargon2, e.g. out of
// memory).
Result<std::string> hash_password(std::string_view password, const Argon2Params& params);

// A PHC string as hash_password writes it, with `params`, a random salt and a random tag instead of
// one computed from a password: checking any password against it costs exactly one Argon2id with
// `params`, and matches with probability 2^-(8 * hash_bytes), that is never. For the decoy an
// unknown login name is checked against, without spending a hash at every start. Errors:
// invalid_argument (bad params), random_failed.
Result<std::string> decoy_password_hash(const Argon2Params& params);

enum class PasswordCheck { match, mismatch, malformed };

// malformed: `encoded` is not a PHC Argon2id v=19 string within the limits (nothing was hashed).
// mismatch: the password is wrong, or longer than password_bytes_max (refused without hashing: no
// stored hash can come from such a password), or libargon2 failed (fails closed).
// The tag comparison is constant-time (libargon2's argon2_verify_ctx XOR-accumulates).
PasswordCheck verify_password(std::string_view password, std::string_view encoded);

// True when `encoded` should be replaced at the next successful login: it does not parse as an
// Argon2id v=19 string, or any of m, t, p, salt length or tag length differs from `current`.
// `current` must satisfy validate() (it comes from validated config).
bool needs_rehash(std::string_view encoded, const Argon2Params& current);

}  // namespace vmx::crypto
