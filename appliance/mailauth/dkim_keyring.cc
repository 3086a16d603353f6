// DKIM keys as appliance secrets, and the keyring (see dkim_keyring.h). Encoding and loading run on
// the control thread; a finished DkimKeyring is immutable. The value frame, all of it under the
// secret's seal:
//   u8 format (1) | u8 algorithm (1 rsa, 2 ed25519) | i64 created | i64 retired (unix s, big-endian)
//   | u8 name length | the secret's own name | the PKCS#8 PEM private key (the rest)
#include "appliance/mailauth/dkim_keyring.h"

#include <algorithm>
#include <cstring>

#include "appliance/keys/appliance_secrets.h"
#include "appliance/keys/key_service.h"
#include "core/log.h"
#include "core/patterns.h"
#include "crypto/errc.h"
#include "store/errc.h"

namespace vmx {
namespace {

constexpr std::uint8_t frame_format = 1;
constexpr std::size_t frame_fixed_bytes = 1 + 1 + 8 + 8 + 1;  // format, algorithm, times, name length

// The numbers are the frame's own, not the enum's: reordering DkimAlgorithm must not change what a
// stored key means.
std::uint8_t algorithm_code(crypto::DkimAlgorithm a) noexcept { return a == crypto::DkimAlgorithm::rsa_sha256 ? 1 : 2; }

std::optional<crypto::DkimAlgorithm> algorithm_of(std::uint8_t code) noexcept {
    if (code == 1) return crypto::DkimAlgorithm::rsa_sha256;
    if (code == 2) return crypto::DkimAlgorithm::ed25519_sha256;
    return std::nullopt;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

void put_i64(std::uint8_t* out, std::int64_t v) noexcept {
    const auto u = static_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(u >> (56 - 8 * i));
}

std::int64_t get_i64(const std::uint8_t* in) noexcept {
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = u << 8 | in[i];
    return static_cast<std::int64_t>(u);
}

// "dkim/DOMAIN/SELECTOR" back to its parts; nullopt unless it is exactly what dkim_secret_name makes.
std::optional<std::pair<std::string, std::string>> parts_of(std::string_view name) {
    if (!name.starts_with(dkim_secret_prefix)) return std::nullopt;
    const std::string_view rest = name.substr(dkim_secret_prefix.size());
    const auto slash = rest.rfind('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::pair<std::string, std::string> parts{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
    if (dkim_secret_name(parts.first, parts.second) != name) return std::nullopt;
    return parts;
}

bool signs_before(const DkimKey& a, const DkimKey& b) {
    // Among a domain's active keys the newest signs (while `dkim rotate` stores the new key before it
    // retires the old one, both are active for a moment); the selector breaks a tie in one second.
    if (a.domain != b.domain) return a.domain < b.domain;
    if (a.created_unix != b.created_unix) return a.created_unix < b.created_unix;
    return a.selector < b.selector;
}

}  // namespace

std::optional<std::string> dkim_secret_name(std::string_view domain, std::string_view selector) {
    const std::string d = lower(domain);
    const std::string s = lower(selector);
    // A DNS name with at least one dot (RFC 6376 3.5 d=: a domain that can hold a _domainkey zone).
    if (!matches(Pattern::domain, d) || d.find('.') == std::string::npos) return std::nullopt;
    if (!matches(Pattern::dkim_selector, s)) return std::nullopt;
    std::string name = std::string(dkim_secret_prefix) + d + "/" + s;
    if (!valid_secret_name(name)) return std::nullopt;  // together longer than a secret name may be
    return name;
}

crypto::SecretBytes encode_dkim_key(const DkimKey& key) {
    const auto name = dkim_secret_name(key.domain, key.selector);
    VMX_ASSERT(name && !key.private_pem.empty());  // callers check domain and selector first
    // Built straight in secret memory: the PEM is never copied to the ordinary heap.
    auto out = crypto::SecretBytes::zeroed(frame_fixed_bytes + name->size() + key.private_pem.size());
    std::uint8_t* p = out.mutable_view().data();
    p[0] = frame_format;
    p[1] = algorithm_code(key.algorithm);
    put_i64(p + 2, key.created_unix);
    put_i64(p + 10, key.retired_unix);
    p[18] = static_cast<std::uint8_t>(name->size());
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): a length-prefixed field, not a C string
    std::memcpy(p + frame_fixed_bytes, name->data(), name->size());
    std::memcpy(p + frame_fixed_bytes + name->size(), key.private_pem.view().data(), key.private_pem.size());
    return out;
}

Result<DkimKey> decode_dkim_key(std::string_view secret_name, const crypto::SecretBytes& value) {
    auto parts = parts_of(secret_name);
    if (!parts) return fail(crypto::CryptoErrc::invalid_argument);
    const auto v = value.view();
    if (v.size() <= frame_fixed_bytes || v[0] != frame_format) return fail(store::StoreErrc::corrupt);
    const auto algorithm = algorithm_of(v[1]);
    const std::size_t name_bytes = v[18];
    if (!algorithm || v.size() <= frame_fixed_bytes + name_bytes) return fail(store::StoreErrc::corrupt);
    // The seal binds the value to its name already; the copy inside also refuses a value that was
    // encoded for one key and stored under another key's name.
    const std::string_view inner(reinterpret_cast<const char*>(v.data() + frame_fixed_bytes), name_bytes);
    if (inner != secret_name) return fail(store::StoreErrc::corrupt);
    DkimKey key;
    key.domain = std::move(parts->first);
    key.selector = std::move(parts->second);
    key.algorithm = *algorithm;
    key.created_unix = get_i64(v.data() + 2);
    key.retired_unix = get_i64(v.data() + 10);
    if (key.created_unix < 0 || key.retired_unix < 0) return fail(store::StoreErrc::corrupt);
    key.private_pem = crypto::SecretBytes::copy_of(v.subspan(frame_fixed_bytes + name_bytes));
    // A PEM that does not load would only fail later, on every message: refuse it here.
    if (!crypto::dkim_public_key(key.algorithm, key.private_pem.view())) return fail(store::StoreErrc::corrupt);
    return key;
}

const DkimSigningKey* DkimKeyring::find(std::string_view domain) const {
    if (by_domain.empty()) return nullptr;
    const auto it = by_domain.find(lower(domain));
    return it == by_domain.end() ? nullptr : &it->second;
}

Result<std::vector<DkimKey>> load_dkim_keys(const KeyService& keys) {
    auto listed = keys.appliance_secrets();
    if (!listed) return fail(listed.error());
    std::vector<DkimKey> out;
    for (const SecretInfo& info : *listed) {
        if (!info.name.starts_with(dkim_secret_prefix)) continue;
        auto value = keys.appliance_secret(info.name);
        if (!value || !*value) {
            // Altered, moved from another name, or removed since the listing: this key does not sign.
            log_event(LogLevel::error, "mailauth.dkim_key_unreadable", "secret={} error=\"{}\"", info.name,
                      value ? std::string("removed") : value.error().message());
            continue;
        }
        auto key = decode_dkim_key(info.name, **value);
        if (!key) {
            log_event(LogLevel::error, "mailauth.dkim_key_invalid", "secret={} error=\"{}\"", info.name,
                      key.error().message());
            continue;
        }
        out.push_back(std::move(*key));
    }
    return out;
}

std::shared_ptr<const DkimKeyring> dkim_keyring_of(std::vector<DkimKey>&& keys) {
    std::sort(keys.begin(), keys.end(), signs_before);
    auto ring = std::make_shared<DkimKeyring>();
    for (DkimKey& key : keys) {
        if (key.retired_unix != 0) continue;
        // In signs_before order, so the last active key of each domain is the one that stays.
        ring->by_domain.insert_or_assign(key.domain,
                                         DkimSigningKey{key.selector, key.algorithm, std::move(key.private_pem)});
    }
    return ring;
}

}  // namespace vmx
