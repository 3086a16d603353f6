// dkim_sign(): the DKIM-Signature (RFC 6376, RFC 8463) for one submitted message: relaxed/relaxed, the
// body hash over the whole body (no l=), the header fields of RFC 6376 5.4.1 that are present, and
// the ones that must not be added later (From first) signed once more than they appear
// ("oversigning", 8.15), so an extra From: breaks the signature.
// Written here rather than through libopendkim: libopendkim 2.11.0~beta2 (Debian 12) leaks the key
// it loads for every ed25519 signature (about 1.3 KB a message, measured with valgrind), which a
// long-running signer cannot afford; verification, where the library does not leak, stays with it.
// The canonicalization is net/mailauth/dkim_canon.h, the RSA and Ed25519 primitives
// crypto/dkim_key.h (OpenSSL), and dkimpy verifies what this writes (tests/integration).
// Pure apart from the clock: any thread (the mail-authentication workers).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vmx {

struct DkimSigningKey;

// "DKIM-Signature: ...\r\n" (folded with CRLF TAB) to put on top of the message, signed at
// `now_unix`; crypto invalid_argument when the key cannot be used.
Result<std::string> dkim_sign(std::string_view message, std::string_view domain, const DkimSigningKey& key,
                              std::int64_t now_unix);

}  // namespace vmx
