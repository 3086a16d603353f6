// HMAC-SHA256 over wc_Hmac (see hmac.h). wolfSSL's options.h must come before any other wolfSSL
// header, or its structures are laid out differently from the library's.
#include "crypto/hmac.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
// clang-format on

#include <limits>

#include "crypto/errc.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {
namespace {

bool fits_word32(std::size_t bytes) noexcept { return bytes <= std::numeric_limits<word32>::max(); }

// wc_HmacFree leaves the keyed inner and outer pads in the struct: wiped on every way out.
struct HmacState {
    Hmac hmac{};
    bool initialised = false;
    ~HmacState() {
        if (initialised) wc_HmacFree(&hmac);
        secure_wipe(&hmac, sizeof hmac);
    }
};

}  // namespace

Result<void> hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::span<const std::uint8_t>> parts,
                         std::span<std::uint8_t, hmac_sha256_bytes> out) {
    bool ok = fits_word32(key.size());
    for (const auto& part : parts) ok = ok && fits_word32(part.size());
    HmacState state;
    ok = ok && wc_HmacInit(&state.hmac, nullptr, INVALID_DEVID) == 0;
    state.initialised = ok;
    // wolfCrypt wants a non-null key pointer even for a zero length.
    static constexpr byte no_key = 0;
    ok = ok && wc_HmacSetKey(&state.hmac, WC_SHA256, key.empty() ? &no_key : key.data(),
                             static_cast<word32>(key.size())) == 0;
    for (const auto& part : parts)
        ok = ok && (part.empty() || wc_HmacUpdate(&state.hmac, part.data(), static_cast<word32>(part.size())) == 0);
    ok = ok && wc_HmacFinal(&state.hmac, out.data()) == 0;
    if (!ok) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    return {};
}

}  // namespace vmx::crypto
