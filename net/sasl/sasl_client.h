// The client side of SASL as SMTP AUTH carries it (RFC 4954): base64 (RFC 4648, padded) and the
// PLAIN initial response "authzid NUL authcid NUL passwd" (RFC 4616, authzid empty). Stateless,
// any thread. The PLAIN message is built in secret memory; only its base64 form, which the caller
// is about to send, exists as an ordinary string.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "crypto/secret_bytes.h"

namespace vmx::sasl {

// Appends the padded base64 form of bytes to out.
void base64_encode(std::span<const std::uint8_t> bytes, std::string& out);

// Appends base64("\0" authcid "\0" password) to out. The caller checked that neither holds a NUL
// (plain_sendable) and that authcid is not empty.
void plain_response(std::string_view authcid, const crypto::SecretBytes& password, std::string& out);

// PLAIN can carry these: authcid 1.. bytes, neither part with a NUL (RFC 4616 2).
bool plain_sendable(std::string_view authcid, const crypto::SecretBytes& password) noexcept;

}  // namespace vmx::sasl
