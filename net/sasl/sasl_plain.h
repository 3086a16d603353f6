// SASL PLAIN (RFC 4616) as POP3 AUTH (RFC 5034) and SMTP AUTH (RFC 4954) carry it: strict base64
// (RFC 4648, padded, canonical), then "authzid NUL authcid NUL passwd"; and the pieces LOGIN needs.
// Stateless, any thread. The decoded bytes live only in SecretBytes, so the password is wiped with
// them and never sits in a std::string.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/secret_bytes.h"

namespace vmx::sasl {

// Decodes into secret memory; nullopt when the text is not canonical padded base64 or would
// decode to more than bytes_max octets.
std::optional<crypto::SecretBytes> base64_decode_secret(std::string_view text, std::size_t bytes_max);

enum class PlainError : std::uint8_t { malformed, authzid_differs };

struct PlainCredentials {
    std::string authcid;
    crypto::SecretBytes password;
};

struct PlainResult {
    std::optional<PlainCredentials> credentials;
    PlainError error = PlainError::malformed;  // when credentials is empty
};

// Splits a decoded PLAIN message. authcid must be 1..username_bytes_max octets without control
// characters, the password 1..secret_bytes_max octets without NUL, authzid empty or equal to authcid.
PlainResult parse_plain(const crypto::SecretBytes& message, std::size_t username_bytes_max,
                        std::size_t secret_bytes_max);

// A user name as POP3 and SMTP AUTH accept it: 1..bytes_max octets, no control characters (0x00-0x1F, 0x7F).
bool valid_username(std::string_view name, std::size_t bytes_max) noexcept;

}  // namespace vmx::sasl
