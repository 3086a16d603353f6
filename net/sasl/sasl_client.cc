// SASL client responses (see sasl_client.h).
#include "net/sasl/sasl_client.h"

#include <algorithm>

namespace vmx::sasl {

void base64_encode(std::span<const std::uint8_t> bytes, std::string& out) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t q = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 | bytes[i + 2];
        for (int shift = 18; shift >= 0; shift -= 6) out += alphabet[(q >> shift) & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 0) return;
    const std::uint32_t q = std::uint32_t{bytes[i]} << 16 | (rest == 2 ? std::uint32_t{bytes[i + 1]} << 8 : 0);
    out += alphabet[(q >> 18) & 63];
    out += alphabet[(q >> 12) & 63];
    out += rest == 2 ? alphabet[(q >> 6) & 63] : '=';
    out += '=';
}

bool plain_sendable(std::string_view authcid, const crypto::SecretBytes& password) noexcept {
    const auto pw = password.view();
    return !authcid.empty() && authcid.find('\0') == std::string_view::npos &&
           std::find(pw.begin(), pw.end(), std::uint8_t{0}) == pw.end();
}

void plain_response(std::string_view authcid, const crypto::SecretBytes& password, std::string& out) {
    // The message lives in secret memory, wiped when `message` goes.
    auto message = crypto::SecretBytes::zeroed(2 + authcid.size() + password.size());
    auto dst = message.mutable_view();
    dst[0] = 0;
    std::copy(authcid.begin(), authcid.end(), dst.begin() + 1);
    dst[1 + authcid.size()] = 0;
    std::copy(password.view().begin(), password.view().end(), dst.begin() + 2 + static_cast<std::ptrdiff_t>(authcid.size()));
    base64_encode(message.view(), out);
}

}  // namespace vmx::sasl
