// HKDF-SHA256 over wc_HKDF (extract then expand). wolfSSL's options.h must come before any other
// wolfSSL header, or its structures are laid out differently from the library's.
#include "crypto/hkdf.h"

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
// clang-format on

#include <limits>

#include "crypto/errc.h"

namespace vmx::crypto {
namespace {

bool fits_word32(std::size_t bytes) noexcept { return bytes <= std::numeric_limits<word32>::max(); }

// wolfCrypt wants a null pointer exactly when a length is zero.
const byte* pointer_or_null(std::span<const std::uint8_t> s) noexcept { return s.empty() ? nullptr : s.data(); }

}  // namespace

Result<void> hkdf_sha256_into(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                              std::span<const std::uint8_t> info, std::span<std::uint8_t> out) {
    if (out.empty() || out.size() > hkdf_sha256_output_bytes_max || !fits_word32(ikm.size()) ||
        !fits_word32(salt.size()) || !fits_word32(info.size())) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    // Every argument wolfCrypt checks is checked above; what is left is an internal failure (an
    // allocation in a small-stack build), reported as invalid_argument rather than ignored.
    const int rc = wc_HKDF(WC_SHA256, pointer_or_null(ikm), static_cast<word32>(ikm.size()), pointer_or_null(salt),
                           static_cast<word32>(salt.size()), pointer_or_null(info), static_cast<word32>(info.size()),
                           out.data(), static_cast<word32>(out.size()));
    if (rc != 0) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    return {};
}

Result<SecretBytes> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                std::string_view info, std::size_t length) {
    if (length == 0 || length > hkdf_sha256_output_bytes_max) return fail(CryptoErrc::invalid_argument);
    SecretBytes okm = SecretBytes::zeroed(length);
    const std::span<const std::uint8_t> info_bytes(reinterpret_cast<const std::uint8_t*>(info.data()), info.size());
    if (auto r = hkdf_sha256_into(ikm, salt, info_bytes, okm.mutable_view()); !r) return fail(r.error());
    return okm;
}

}  // namespace vmx::crypto
