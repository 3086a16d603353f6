// Directory record encoding (see records.h). Version byte first, so a later format can be told
// apart; decode() re-checks every field against the pattern it was written under. A newer version
// only appends a section after the fields of the one before, and the version byte says whether it
// is there, so a record cut short at the old end is refused rather than read as an older one.
#include "appliance/directory/records.h"

#include <algorithm>
#include <string>

#include "core/byte_codec.h"
#include "core/patterns.h"

namespace vmx {
namespace {

constexpr std::uint8_t domain_record_version = 1;
constexpr std::uint8_t org_record_version_v1 = 1;
constexpr std::uint8_t org_record_version_v2 = 2;  // v2 appends the hourly submission limits
constexpr std::uint8_t org_record_version = 3;     // v3 appends the closure
constexpr std::uint8_t user_record_version_v1 = 1;
constexpr std::uint8_t user_record_version_v2 = 2;  // v2 appends the allowed senders
constexpr std::uint8_t user_record_version_v3 = 3;  // v3 appends the closure
constexpr std::uint8_t user_record_version = 4;     // v4 appends the security keys
constexpr std::uint8_t closure_with_org = 1;        // bits of a v3 record's closure flags
constexpr std::uint8_t closure_purging = 2;

class DirectoryCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmx.directory"; }
    std::string message(int value) const override {
        switch (static_cast<DirectoryErrc>(value)) {
            case DirectoryErrc::ok: return "ok";
            case DirectoryErrc::invalid_org_name: return "invalid organisation name";
            case DirectoryErrc::invalid_domain: return "invalid domain";
            case DirectoryErrc::invalid_address: return "invalid address";
            case DirectoryErrc::invalid_label: return "invalid label";
            case DirectoryErrc::invalid_plan: return "invalid plan (starter, pro or ultimate)";
            case DirectoryErrc::invalid_network: return "invalid network (an IPv4 or IPv6 CIDR)";
            case DirectoryErrc::invalid_quota: return "invalid quota (a size such as 500M or 2G)";
            case DirectoryErrc::invalid_duration: return "invalid duration (such as 30m, 8h or 2d)";
            case DirectoryErrc::org_exists: return "organisation already exists";
            case DirectoryErrc::domain_exists: return "domain already exists";
            case DirectoryErrc::user_exists: return "user already exists";
            case DirectoryErrc::label_exists: return "an app password with this label already exists";
            case DirectoryErrc::unknown_org: return "unknown organisation";
            case DirectoryErrc::unknown_domain: return "unknown domain (add it with: domain add)";
            case DirectoryErrc::unknown_user: return "unknown user";
            case DirectoryErrc::unknown_label: return "unknown app password label";
            case DirectoryErrc::too_many_app_passwords: return "too many app passwords (at most 32)";
            case DirectoryErrc::too_many_networks: return "too many networks (at most 64)";
            case DirectoryErrc::sender_exists: return "the user may already send as this address";
            case DirectoryErrc::unknown_sender: return "not an address the user may send as";
            case DirectoryErrc::sender_is_own_address:
                return "this is the user's own address, which they may always send as";
            case DirectoryErrc::too_many_senders: return "too many allowed senders (at most 64)";
            case DirectoryErrc::invalid_hourly_limit:
                return "invalid hourly limit (0 to 1000000; 0: the appliance default)";
            case DirectoryErrc::account_closed: return "the account is closed";
            case DirectoryErrc::account_not_closed: return "the account is not closed (close it first: user close)";
            case DirectoryErrc::account_purged:
                return "the account's purge has begun: it cannot be reopened (its data is being removed)";
            case DirectoryErrc::org_closed: return "the organisation is closed";
            case DirectoryErrc::org_not_closed: return "the organisation is not closed (close it first: org close)";
            case DirectoryErrc::corrupt: return "directory record is corrupt";
        }
        return "unknown directory error";
    }
};

bool plan_ok(std::uint64_t v) noexcept { return v >= 1 && v <= 3; }
bool state_ok(std::uint64_t v) noexcept { return v >= 1 && v <= 3; }

bool has_upper_ascii(std::string_view text) noexcept {
    return std::any_of(text.begin(), text.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

bool purge_due(std::int64_t closed_unix, std::uint32_t closure_purge_days, std::int64_t now_unix) noexcept {
    if (closed_unix == 0) return false;
    return now_unix - closed_unix >= std::int64_t{closure_purge_days} * 86400;
}

const std::error_category& directory_category() noexcept {
    static const DirectoryCategory category;
    return category;
}

std::string_view name_of(UserState state) noexcept {
    switch (state) {
        case UserState::active: return "active";
        case UserState::disabled: return "disabled";
        case UserState::closed: return "closed";
    }
    return "unknown";
}

std::string_view name_of(crypto::Plan plan) noexcept {
    switch (plan) {
        case crypto::Plan::starter: return "starter";
        case crypto::Plan::pro: return "pro";
        case crypto::Plan::ultimate: return "ultimate";
    }
    return "unknown";
}

std::optional<crypto::Plan> parse_plan(std::string_view text) noexcept {
    if (text == "starter") return crypto::Plan::starter;
    if (text == "pro") return crypto::Plan::pro;
    if (text == "ultimate") return crypto::Plan::ultimate;
    return std::nullopt;
}

DirectoryErrc check_allowed_senders(std::string_view own_address, const std::vector<std::string>& senders) {
    if (senders.size() > allowed_senders_per_user_max) return DirectoryErrc::too_many_senders;
    for (auto it = senders.begin(); it != senders.end(); ++it) {
        if (!matches(Pattern::address, *it) || has_upper_ascii(*it)) return DirectoryErrc::invalid_address;
        if (*it == own_address) return DirectoryErrc::sender_is_own_address;
        if (std::find(senders.begin(), it, *it) != it) return DirectoryErrc::sender_exists;
    }
    return DirectoryErrc::ok;
}

DirectoryErrc check_hourly_limits(const OrgPolicy& policy) noexcept {
    if (policy.submission_messages_per_hour > submission_per_hour_max ||
        policy.submission_recipients_per_hour > submission_per_hour_max)
        return DirectoryErrc::invalid_hourly_limit;
    return DirectoryErrc::ok;
}

std::vector<std::uint8_t> encode(const Organisation& org) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(org_record_version);
    w.u64(org.id);
    w.str(org.name);
    w.u8(static_cast<std::uint8_t>(org.plan));
    w.u32(org.policy.session_max_s);
    w.u8(org.policy.require_mfa ? 1 : 0);
    w.u16(static_cast<std::uint16_t>(org.policy.allowed_networks.size()));
    for (const std::string& net : org.policy.allowed_networks) w.str(net);
    w.i64(org.created_unix);
    w.u32(org.policy.submission_messages_per_hour);
    w.u32(org.policy.submission_recipients_per_hour);
    w.i64(org.closed_unix);
    w.u8(org.purging ? closure_purging : 0);
    return out;
}

std::optional<Organisation> decode_organisation(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    Organisation org;
    auto version = r.u8();
    auto id = r.u64();
    auto name = r.str(pattern_bytes_max(Pattern::org_name));
    auto plan = r.u8();
    auto session = r.u32();
    auto mfa = r.u8();
    auto nets = r.uint(2);
    const bool known_version = version && *version >= org_record_version_v1 && *version <= org_record_version;
    if (!known_version || !id || !name || !plan || !plan_ok(*plan) || !session || !mfa ||
        *mfa > 1 || !nets || *nets > allowed_networks_max || !matches(Pattern::org_name, *name))
        return std::nullopt;
    for (std::uint64_t i = 0; i < *nets; ++i) {
        auto net = r.str(pattern_bytes_max(Pattern::ipv6_cidr));
        if (!net || (!matches(Pattern::ipv4_cidr, *net) && !matches(Pattern::ipv6_cidr, *net))) return std::nullopt;
        org.policy.allowed_networks.push_back(std::move(*net));
    }
    auto created = r.i64();
    if (!created) return std::nullopt;
    if (*version >= org_record_version_v2) {
        auto messages = r.u32();
        auto recipients = r.u32();
        if (!messages || !recipients) return std::nullopt;
        org.policy.submission_messages_per_hour = *messages;
        org.policy.submission_recipients_per_hour = *recipients;
        if (check_hourly_limits(org.policy) != DirectoryErrc::ok) return std::nullopt;
    }
    if (*version >= org_record_version) {
        auto closed = r.i64();
        auto flags = r.u8();
        if (!closed || !flags || (*flags & ~closure_purging) != 0 || *closed < 0) return std::nullopt;
        if (*closed == 0 && *flags != 0) return std::nullopt;  // only a closed org is purged
        org.closed_unix = *closed;
        org.purging = (*flags & closure_purging) != 0;
    }
    if (!r.at_end()) return std::nullopt;
    org.id = *id;
    org.name = std::move(*name);
    org.plan = static_cast<crypto::Plan>(*plan);
    org.policy.session_max_s = *session;
    org.policy.require_mfa = *mfa == 1;
    org.created_unix = *created;
    return org;
}

std::vector<std::uint8_t> encode(const Domain& domain) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(domain_record_version);
    w.u64(domain.id);
    w.str(domain.name);
    w.u64(domain.org_id);
    w.i64(domain.created_unix);
    return out;
}

std::optional<Domain> decode_domain(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    auto version = r.u8();
    auto id = r.u64();
    auto name = r.str(pattern_bytes_max(Pattern::domain));
    auto org = r.u64();
    auto created = r.i64();
    if (!version || *version != domain_record_version || !id || !name || !org || !created || !r.at_end() ||
        !matches(Pattern::domain, *name))
        return std::nullopt;
    return Domain{*id, std::move(*name), *org, *created};
}

std::vector<std::uint8_t> encode(const User& user) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(user_record_version);
    w.u64(user.id);
    w.str(user.address);
    w.u64(user.org_id);
    w.u64(user.domain_id);
    w.str(user.password_hash);
    w.u16(static_cast<std::uint16_t>(user.app_passwords.size()));
    for (const AppPassword& a : user.app_passwords) {
        w.str(a.label);
        w.str(a.hash);
        w.i64(a.created_unix);
    }
    w.str(std::string_view(reinterpret_cast<const char*>(user.totp_secret.data()), user.totp_secret.size()));
    w.u64(user.totp_last_step);
    w.u64(user.quota_bytes);
    w.u8(static_cast<std::uint8_t>(user.state));
    w.u64(user.token_generation);
    w.i64(user.created_unix);
    w.u16(static_cast<std::uint16_t>(user.allowed_senders.size()));
    for (const std::string& sender : user.allowed_senders) w.str(sender);
    w.i64(user.closed_unix);
    w.u8(static_cast<std::uint8_t>(user.state_before_close));
    w.u8(static_cast<std::uint8_t>((user.closed_with_org ? closure_with_org : 0) | (user.purging ? closure_purging : 0)));
    w.u8(static_cast<std::uint8_t>(user.security_keys.size()));
    for (const SecurityKey& k : user.security_keys) {
        w.str(k.label);
        w.str(std::string_view(reinterpret_cast<const char*>(k.credential_id.data()), k.credential_id.size()));
        w.str(std::string_view(reinterpret_cast<const char*>(k.public_key.data()), k.public_key.size()));
        w.u32(k.sign_count);
        w.i64(k.created_unix);
        w.i64(k.last_used_unix);
    }
    return out;
}

namespace {

// The v2 section of a user record: a u16 count, then each address; the same rules as the directory.
bool decode_senders(ByteReader& r, std::string_view own_address, std::vector<std::string>& out) {
    auto count = r.uint(2);
    if (!count || *count > allowed_senders_per_user_max) return false;
    for (std::uint64_t i = 0; i < *count; ++i) {
        auto sender = r.str(pattern_bytes_max(Pattern::address));
        if (!sender) return false;
        out.push_back(std::move(*sender));
    }
    return check_allowed_senders(own_address, out) == DirectoryErrc::ok;
}

// The v3 section: closed_unix (i64), the state before closing (u8), flags (u8). Only a closed user
// has a closure time, and only a closed user may be purging.
bool decode_closure(ByteReader& r, UserState state, User& u) {
    auto closed = r.i64();
    auto before = r.u8();
    auto flags = r.u8();
    if (!closed || !before || !flags || *closed < 0 || (*before != 1 && *before != 2)) return false;
    if ((*flags & ~(closure_with_org | closure_purging)) != 0) return false;
    if (state != UserState::closed && (*closed != 0 || *flags != 0)) return false;
    u.closed_unix = *closed;
    u.state_before_close = static_cast<UserState>(*before);
    u.closed_with_org = (*flags & closure_with_org) != 0;
    u.purging = (*flags & closure_purging) != 0;
    return true;
}

// The v4 section: a u8 count, then each key (label, credential id, COSE key, counter, times). Labels
// and credential ids are unique; none is empty.
bool decode_security_keys(ByteReader& r, std::vector<SecurityKey>& out) {
    auto count = r.u8();
    if (!count || *count > security_keys_per_user_max) return false;
    for (std::uint8_t i = 0; i < *count; ++i) {
        auto label = r.str(pattern_bytes_max(Pattern::label));
        auto id = r.str(security_key_id_bytes_max);
        auto key = r.str(security_key_public_bytes_max);
        auto sign_count = r.u32();
        auto created = r.i64();
        auto used = r.i64();
        if (!label || !id || !key || !sign_count || !created || !used || !matches(Pattern::label, *label) ||
            id->empty() || key->empty())
            return false;
        for (const SecurityKey& k : out)
            if (k.label == *label || std::string_view(reinterpret_cast<const char*>(k.credential_id.data()),
                                                      k.credential_id.size()) == *id)
                return false;
        out.push_back({std::move(*label), std::vector<std::uint8_t>(id->begin(), id->end()),
                       std::vector<std::uint8_t>(key->begin(), key->end()), *sign_count, *created, *used});
    }
    return true;
}

}  // namespace

std::optional<User> decode_user(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    User u;
    auto version = r.u8();
    auto id = r.u64();
    auto address = r.str(pattern_bytes_max(Pattern::address));
    auto org = r.u64();
    auto domain = r.u64();
    auto hash = r.str(password_hash_bytes_max);
    auto apps = r.uint(2);
    const bool known_version = version && *version >= user_record_version_v1 && *version <= user_record_version;
    if (!known_version || !id || !address || !org || !domain || !hash || !apps ||
        *apps > app_passwords_per_user_max || !matches(Pattern::address, *address))
        return std::nullopt;
    for (std::uint64_t i = 0; i < *apps; ++i) {
        auto label = r.str(pattern_bytes_max(Pattern::label));
        auto app_hash = r.str(password_hash_bytes_max);
        auto created = r.i64();
        if (!label || !app_hash || !created || !matches(Pattern::label, *label)) return std::nullopt;
        u.app_passwords.push_back({std::move(*label), std::move(*app_hash), *created});
    }
    auto totp = r.str(totp_secret_bytes_max);
    auto last_step = r.u64();
    auto quota = r.u64();
    auto state = r.u8();
    auto generation = r.u64();
    auto created = r.i64();
    if (!totp || !last_step || !quota || !state || !state_ok(*state) || !generation || !created) return std::nullopt;
    if (*version >= user_record_version_v2 && !decode_senders(r, *address, u.allowed_senders)) return std::nullopt;
    if (*version >= user_record_version_v3 && !decode_closure(r, static_cast<UserState>(*state), u)) return std::nullopt;
    if (*version >= user_record_version && !decode_security_keys(r, u.security_keys)) return std::nullopt;
    if (!r.at_end()) return std::nullopt;
    u.id = *id;
    u.address = std::move(*address);
    u.org_id = *org;
    u.domain_id = *domain;
    u.password_hash = std::move(*hash);
    u.totp_secret.assign(totp->begin(), totp->end());
    u.totp_last_step = *last_step;
    u.quota_bytes = *quota;
    u.state = static_cast<UserState>(*state);
    u.token_generation = *generation;
    u.created_unix = *created;
    return u;
}

}  // namespace vmx
