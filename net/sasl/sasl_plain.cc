// SASL PLAIN decoding (see sasl_plain.h). Base64 is decoded straight into secret memory, one
// quantum at a time, with no intermediate buffer that would need wiping.
#include "net/sasl/sasl_plain.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>

namespace vmx::sasl {
namespace {

constexpr std::uint8_t no_value = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
    std::array<std::uint8_t, 256> t{};
    t.fill(no_value);
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
    return t;
}
constexpr std::array<std::uint8_t, 256> decode_table = make_decode_table();

std::uint8_t value_of(char c) noexcept { return decode_table[static_cast<unsigned char>(c)]; }

// Padding at the end (0, 1 or 2 '='), or nullopt when '=' is misplaced.
std::optional<std::size_t> padding_of(std::string_view text) noexcept {
    std::size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    if (text.substr(0, text.size() - pad).find('=') != std::string_view::npos) return std::nullopt;
    return pad;
}

bool no_controls(std::span<const std::uint8_t> bytes) noexcept {
    return std::none_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b < 0x20 || b == 0x7f; });
}

}  // namespace

bool valid_username(std::string_view name, std::size_t bytes_max) noexcept {
    if (name.empty() || name.size() > bytes_max) return false;
    const auto* p = reinterpret_cast<const std::uint8_t*>(name.data());
    return no_controls({p, name.size()});
}

std::optional<crypto::SecretBytes> base64_decode_secret(std::string_view text, std::size_t bytes_max) {
    if (text.empty() || text.size() % 4 != 0) return std::nullopt;
    const auto pad = padding_of(text);
    if (!pad) return std::nullopt;
    const std::size_t bytes = text.size() / 4 * 3 - *pad;
    if (bytes > bytes_max) return std::nullopt;
    auto out = crypto::SecretBytes::zeroed(bytes);
    auto dst = out.mutable_view();
    std::size_t at = 0;
    for (std::size_t i = 0; i < text.size(); i += 4) {
        std::uint32_t quantum = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            const std::uint8_t v = c == '=' ? 0 : value_of(c);
            if (v == no_value) return std::nullopt;  // `out` wipes what it holds
            quantum = (quantum << 6) | v;
        }
        for (std::size_t j = 0; j < 3 && at < bytes; ++j) dst[at++] = static_cast<std::uint8_t>(quantum >> (16 - 8 * j));
        if (i + 4 == text.size() && *pad > 0) {
            const std::uint32_t unused_mask = *pad == 2 ? 0xffffu : 0xffu;
            if ((quantum & unused_mask) != 0) return std::nullopt;  // not canonical
        }
    }
    return out;
}

PlainResult parse_plain(const crypto::SecretBytes& message, std::size_t username_bytes_max,
                        std::size_t secret_bytes_max) {
    const auto m = message.view();
    const auto first = std::find(m.begin(), m.end(), std::uint8_t{0});
    if (first == m.end()) return {};
    const auto second = std::find(first + 1, m.end(), std::uint8_t{0});
    if (second == m.end() || std::find(second + 1, m.end(), std::uint8_t{0}) != m.end()) return {};
    const std::span<const std::uint8_t> authzid(m.begin(), first);
    const std::span<const std::uint8_t> authcid(first + 1, second);
    const std::span<const std::uint8_t> password(second + 1, m.end());
    const std::string_view name(reinterpret_cast<const char*>(authcid.data()), authcid.size());
    if (!valid_username(name, username_bytes_max)) return {};
    if (password.empty() || password.size() > secret_bytes_max) return {};
    if (!authzid.empty() && !std::equal(authzid.begin(), authzid.end(), authcid.begin(), authcid.end())) {
        return {std::nullopt, PlainError::authzid_differs};
    }
    return {PlainCredentials{std::string(name), crypto::SecretBytes::copy_of(password)}, PlainError::malformed};
}

}  // namespace vmx::sasl
