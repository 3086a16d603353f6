// The support view's keyed hashes (see support_view.h).
#include "appliance/admin/support_view.h"

#include <string.h>

#include <array>

#include "core/assert.h"
#include "core/hex_text.h"
#include "crypto/hkdf.h"
#include "crypto/hmac.h"
#include "net/smtp/address_list.h"

namespace vmx {
namespace {

constexpr std::string_view hash_key_label = "vaultmx support view hash v1";
constexpr std::size_t sender_mailboxes_max = 100;  // as submission reads From: (net/smtp/headers.h)

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

}  // namespace

Result<crypto::SecretBytes> support_hash_key(std::span<const std::uint8_t> master_key) {
    return crypto::hkdf_sha256(master_key, {}, hash_key_label, support_hash_key_bytes);
}

std::string normalised_field(SupportField field, std::string_view value) {
    if (field == SupportField::subject) return std::string(value);
    auto addresses = smtp::parse_mailbox_list(value, sender_mailboxes_max);
    if (!addresses) return lower(value);
    std::string out;
    for (const std::string& a : *addresses) {
        if (!out.empty()) out += ',';
        out += a;
    }
    return lower(out);
}

std::string support_field_hash(std::span<const std::uint8_t> key, SupportField field, std::uint64_t user_id,
                               std::string_view value) {
    std::string normal = normalised_field(field, value);
    const std::array<std::uint8_t, 1> kind{static_cast<std::uint8_t>(field)};
    std::array<std::uint8_t, 8> user{};
    for (std::size_t i = 0; i < user.size(); ++i) user[i] = static_cast<std::uint8_t>(user_id >> (8 * (7 - i)));
    const std::array<std::span<const std::uint8_t>, 3> parts{kind, user, bytes_of(normal)};
    std::array<std::uint8_t, crypto::hmac_sha256_bytes> mac{};
    const auto done = crypto::hmac_sha256(key, parts, mac);
    VMX_ASSERT(done);  // fails only for lengths over 4 GiB, which a header value never is
    explicit_bzero(normal.data(), normal.size());
    return hex_of(std::span<const std::uint8_t>(mac).first(support_hash_hex_chars / 2));
}

}  // namespace vmx
