// TOTP/HOTP over wolfCrypt's HMAC-SHA1, base32 for secrets and the otpauth:// provisioning URI.
// Stateless; any thread. HMAC state and the MAC are wiped after each use; verification walks all
// three candidate steps with masks instead of branches on secret-dependent values.
#include "crypto/totp.h"

// options.h first: it fixes the build configuration the other wolfSSL headers depend on.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>


#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "crypto/errc.h"
#include "crypto/radix_text.h"
#include "crypto/random.h"

namespace vmx::crypto {
namespace {

constexpr std::string_view b32_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";


int b32_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= '2' && c <= '7') return c - '2' + 26;
    return -1;
}

// '=' characters a correctly padded group needs after `data_chars` characters (-1: impossible).
int b32_padding_for(std::size_t data_chars) {
    constexpr std::array<int, 8> pad = {0, -1, 6, -1, 4, 3, -1, 1};
    return pad[data_chars % 8];
}

void percent_encode(std::string& out, std::string_view in) {
    constexpr std::string_view hex = "0123456789ABCDEF";
    for (const char c : in) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out.push_back('%');
            out.push_back(hex[byte >> 4]);
            out.push_back(hex[byte & 0x0F]);
        }
    }
}

// HMAC-SHA1(secret, message) into `mac`; false if wolfCrypt refused.
bool hmac_sha1(std::span<const std::uint8_t> secret, std::span<const std::uint8_t> message,
               std::array<std::uint8_t, WC_SHA_DIGEST_SIZE>& mac) {
    if (secret.size() > UINT32_MAX) return false;
    Hmac hmac;
    if (wc_HmacInit(&hmac, nullptr, INVALID_DEVID) != 0) return false;
    const bool ok =
        wc_HmacSetKey(&hmac, WC_SHA, secret.data(), static_cast<word32>(secret.size())) == 0 &&
        wc_HmacUpdate(&hmac, message.data(), static_cast<word32>(message.size())) == 0 &&
        wc_HmacFinal(&hmac, mac.data()) == 0;
    wc_HmacFree(&hmac);
    explicit_bzero(&hmac, sizeof hmac);   // wc_HmacFree leaves the keyed inner/outer pads behind
    return ok;
}

std::uint32_t pow10(unsigned digits) {
    std::uint32_t v = 1;
    for (unsigned i = 0; i < digits; ++i) v *= 10;
    return v;
}

// The code as a number if it is exactly totp_digits ASCII digits. Its shape is the client's own
// input, so the early exits here leak nothing secret.
std::optional<std::uint32_t> parse_code(std::string_view code) {
    if (code.size() != totp_digits) return std::nullopt;
    std::uint32_t v = 0;
    for (const char c : code) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return v;
}

// 1 if a == b, else 0, without a data-dependent branch.
std::uint32_t ct_equal(std::uint32_t a, std::uint32_t b) {
    const std::uint32_t x = a ^ b;
    return 1U ^ ((x | (0U - x)) >> 31);
}

}  // namespace

Result<std::vector<std::uint8_t>> totp_generate_secret() {
    std::vector<std::uint8_t> secret(totp_secret_bytes);
    if (auto r = random_bytes(secret); !r) return fail(r.error());
    return secret;
}

std::string base32_encode(std::span<const std::uint8_t> bytes) { return radix_encode<5>(bytes, b32_alphabet); }

Result<std::vector<std::uint8_t>> base32_decode(std::string_view text) {
    std::vector<std::uint8_t> out;
    out.reserve(text.size() * 5 / 8);
    std::uint32_t acc = 0;
    unsigned bits = 0;
    std::size_t data_chars = 0;
    std::size_t pad_chars = 0;
    for (const char c : text) {
        if (c == ' ') continue;
        if (c == '=') {
            ++pad_chars;
            continue;
        }
        const int v = b32_value(c);
        if (v < 0 || pad_chars > 0) return fail(CryptoErrc::invalid_argument);   // data after '='
        acc = ((acc << 5) | static_cast<std::uint32_t>(v)) & 0x1FFF;
        bits += 5;
        ++data_chars;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::uint8_t>(acc >> bits));
        }
    }
    const int pad_needed = b32_padding_for(data_chars);
    const bool bad_length = pad_needed < 0;
    const bool bad_padding = pad_chars != 0 && pad_chars != static_cast<std::size_t>(pad_needed);
    const bool stray_bits = (acc & ((1U << bits) - 1)) != 0;
    if (bad_length || bad_padding || stray_bits) {
        if (!out.empty()) explicit_bzero(out.data(), out.size());   // never pass it a null pointer
        return fail(CryptoErrc::invalid_argument);
    }
    return out;
}

std::string totp_provisioning_uri(std::string_view issuer, std::string_view account,
                                  std::span<const std::uint8_t> secret) {
    std::string uri = "otpauth://totp/";
    if (!issuer.empty()) {
        percent_encode(uri, issuer);
        uri += ':';
    }
    percent_encode(uri, account);
    uri += "?secret=";
    uri += base32_encode(secret);
    if (!issuer.empty()) {
        uri += "&issuer=";
        percent_encode(uri, issuer);
    }
    uri += "&algorithm=SHA1&digits=6&period=30";
    return uri;
}

std::uint32_t hotp(std::span<const std::uint8_t> secret, std::uint64_t counter, unsigned digits) {
    VMX_ASSERT(digits >= 6 && digits <= 8);
    std::array<std::uint8_t, 8> message{};
    for (std::size_t i = 0; i < message.size(); ++i) {
        message[i] = static_cast<std::uint8_t>(counter >> (8 * (7 - i)));   // big-endian
    }
    std::array<std::uint8_t, WC_SHA_DIGEST_SIZE> mac{};
    if (!hmac_sha1(secret, message, mac)) return hotp_failed;
    // RFC 4226 section 5.3 dynamic truncation: 31 bits at the offset named by the last nibble.
    const unsigned offset = mac[mac.size() - 1] & 0x0FU;
    const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7FU) << 24) |
                                 (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                                 (static_cast<std::uint32_t>(mac[offset + 2]) << 8) |
                                 static_cast<std::uint32_t>(mac[offset + 3]);
    explicit_bzero(mac.data(), mac.size());
    return binary % pow10(digits);
}

std::uint32_t totp_at(std::span<const std::uint8_t> secret, std::uint64_t unix_seconds,
                      unsigned digits) {
    return hotp(secret, unix_seconds / totp_step_seconds, digits);
}

TotpCheck totp_verify(std::span<const std::uint8_t> secret, std::string_view code,
                      std::uint64_t unix_seconds, std::uint64_t last_used_step) {
    if (secret.size() < totp_secret_bytes_min || secret.size() > totp_secret_bytes_max) {
        return {false, 0};
    }
    const auto wanted = parse_code(code);
    if (!wanted) return {false, 0};
    const std::uint64_t now = unix_seconds / totp_step_seconds;
    std::uint64_t matched_step = 0;
    std::uint32_t matched = 0;
    // Steps in increasing order, so a later matching step overwrites an earlier one.
    for (int delta = -1; delta <= 1; ++delta) {
        const bool exists = delta >= 0 || now > 0;   // no step before the epoch's first
        const std::uint64_t step = now + static_cast<std::uint64_t>(delta);   // wraps for -1
        const std::uint32_t fresh = (exists && step > last_used_step) ? 1U : 0U;
        const std::uint32_t hit = ct_equal(hotp(secret, step, totp_digits), *wanted) & fresh;
        const std::uint64_t mask = 0 - static_cast<std::uint64_t>(hit);
        matched_step = (matched_step & ~mask) | (step & mask);
        matched |= hit;
    }
    return {matched != 0, matched_step};
}

}  // namespace vmx::crypto
