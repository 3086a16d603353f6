// Time-based one-time passwords: RFC 6238 TOTP over RFC 4226 HOTP with HMAC-SHA1 (wolfCrypt),
// 30-second steps, 6 digits, one step of clock skew either way, and replay refusal through the
// last step the account used. Stateless; any thread. The caller owns secret storage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vmx::crypto {

inline constexpr std::size_t totp_secret_bytes = 20;       // 160 bits, as RFC 4226 recommends
inline constexpr std::size_t totp_secret_bytes_min = 16;   // RFC 4226 R6: at least 128 bits
inline constexpr std::size_t totp_secret_bytes_max = 64;   // one SHA-1 block
inline constexpr std::uint64_t totp_step_seconds = 30;
inline constexpr unsigned totp_digits = 6;
// What hotp() returns if wolfCrypt refuses the HMAC: more digits than any code, so it never matches.
inline constexpr std::uint32_t hotp_failed = UINT32_MAX;

// totp_secret_bytes from getrandom(2); CryptoErrc::random_failed if the kernel fails.
Result<std::vector<std::uint8_t>> totp_generate_secret();

// RFC 4648 base32, upper case, without '=' padding (what authenticator apps expect).
std::string base32_encode(std::span<const std::uint8_t> bytes);
// Accepts lower case, spaces anywhere and correct trailing '=' padding. CryptoErrc::invalid_argument
// for any other character, an impossible length, wrong padding or non-zero unused bits.
Result<std::vector<std::uint8_t>> base32_decode(std::string_view text);

// otpauth://totp/Issuer:account?secret=...&issuer=Issuer&algorithm=SHA1&digits=6&period=30, with
// issuer and account percent-encoded (RFC 3986 unreserved characters kept). An empty issuer
// leaves out the prefix and the parameter. The result holds the secret: show it, never log it.
std::string totp_provisioning_uri(std::string_view issuer, std::string_view account,
                                  std::span<const std::uint8_t> secret);

// RFC 4226 HOTP value: the truncated HMAC-SHA1 modulo 10^digits (digits 6 to 8).
std::uint32_t hotp(std::span<const std::uint8_t> secret, std::uint64_t counter, unsigned digits = 6);
// RFC 6238 TOTP value for the step holding unix_seconds.
std::uint32_t totp_at(std::span<const std::uint8_t> secret, std::uint64_t unix_seconds,
                      unsigned digits = 6);

struct TotpCheck {
    bool ok;
    std::uint64_t step;   // the step that matched when ok, else 0
};

// Accepts `code` (exactly 6 ASCII digits) if it is the value of step now-1, now or now+1 AND that
// step is after last_used_step; the caller then stores the returned step as its new
// last_used_step, so a code is good once. All three steps are always computed and compared in
// constant time. Refused: a malformed code, a secret outside [totp_secret_bytes_min,
// totp_secret_bytes_max]. If two fresh steps share the code, the later one is returned.
TotpCheck totp_verify(std::span<const std::uint8_t> secret, std::string_view code,
                      std::uint64_t unix_seconds, std::uint64_t last_used_step);

}  // namespace vmx::crypto
