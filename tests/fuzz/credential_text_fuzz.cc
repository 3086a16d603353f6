// Fuzz target: the credential strings the directory stores and an admin types: Argon2id PHC strings
// (crypto/password.h) and TOTP secrets in base32 (crypto/totp.h). Checks: a PHC string is read the
// same by needs_rehash() and verify_password() (a string that needs no rehash under small
// parameters is never malformed, and the check costs only those parameters); a hash of ours needs
// no rehash and verifies; base32 is read strictly: what decodes encodes back to the same secret text
// (upper case, without spaces and padding), and any bytes encode to text that decodes to them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "crypto/password.h"
#include "crypto/totp.h"

namespace {

using namespace vmx::crypto;

// Cheap enough to hash once per input: 8 KiB, one pass.
constexpr Argon2Params small{.memory_kib = 8, .iterations = 1, .parallelism = 1, .salt_bytes = 8, .hash_bytes = 16};

std::string normal_base32(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == ' ' || c == '=') continue;
        out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (!needs_rehash(text, small)) {
        VMX_ASSERT(text.size() <= password_encoded_bytes_max);
        VMX_ASSERT(verify_password("password", text) != PasswordCheck::malformed);
    }
    if (size % 64 == 0) {  // a fresh hash per input would be slow; one in 64
        const auto ours = hash_password(text.substr(0, password_bytes_max), small);
        VMX_ASSERT(ours.has_value() && !needs_rehash(*ours, small));
        VMX_ASSERT(verify_password(text.substr(0, password_bytes_max), *ours) == PasswordCheck::match);
    }

    if (const auto secret = base32_decode(text)) {
        VMX_ASSERT(base32_encode(*secret) == normal_base32(text));
    }
    const std::span<const std::uint8_t> bytes(data, size);
    const std::string encoded = base32_encode(bytes);
    const auto back = base32_decode(encoded);
    VMX_ASSERT(back.has_value() && std::equal(back->begin(), back->end(), bytes.begin(), bytes.end()));
    return 0;
}
