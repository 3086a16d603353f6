// The directory's records: organisations, domains, users (with their credentials), and how each is
// encoded before it is sealed. Plain values; any thread. Every text field was validated against a
// named pattern (core/patterns.h) before it got here, and decode() checks the same limits again, so
// a record that passes decode() is one that encode() could have written. Organisation and user
// records are at format version 3 (v2: hourly submission limits, allowed senders; v3: closure);
// versions 1 and 2 still decode.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "crypto/keyring.h"

namespace vmx {

enum class DirectoryErrc {
    ok = 0,
    invalid_org_name = 1,
    invalid_domain,
    invalid_address,
    invalid_label,
    invalid_plan,
    invalid_network,
    invalid_quota,
    invalid_duration,
    org_exists,
    domain_exists,
    user_exists,
    label_exists,
    unknown_org,
    unknown_domain,
    unknown_user,
    unknown_label,
    too_many_app_passwords,
    too_many_networks,
    sender_exists,
    unknown_sender,
    sender_is_own_address,
    too_many_senders,
    invalid_hourly_limit,
    account_closed,
    account_not_closed,
    account_purged,
    org_closed,
    org_not_closed,
    corrupt,
};

const std::error_category& directory_category() noexcept;
inline std::error_code make_error_code(DirectoryErrc e) noexcept { return {static_cast<int>(e), directory_category()}; }

enum class UserState : std::uint8_t { active = 1, disabled = 2, closed = 3 };

inline constexpr std::size_t app_passwords_per_user_max = 32;
inline constexpr std::size_t allowed_networks_max = 64;
inline constexpr std::size_t password_hash_bytes_max = 512;
inline constexpr std::size_t totp_secret_bytes_max = 64;
inline constexpr std::size_t allowed_senders_per_user_max = 64;
inline constexpr std::uint32_t submission_per_hour_max = 1'000'000;  // for either hourly limit

std::string_view name_of(UserState state) noexcept;
std::string_view name_of(crypto::Plan plan) noexcept;
std::optional<crypto::Plan> parse_plan(std::string_view text) noexcept;

struct OrgPolicy {
    std::uint32_t session_max_s = 0;              // 0: no limit on a session's length
    bool require_mfa = false;                     // POP3 then accepts app passwords only
    std::vector<std::string> allowed_networks;    // CIDRs; empty: any client network
    // Submission (465/587) limits per hour, at most submission_per_hour_max; 0: the appliance default.
    std::uint32_t submission_messages_per_hour = 0;
    std::uint32_t submission_recipients_per_hour = 0;
    friend bool operator==(const OrgPolicy&, const OrgPolicy&) = default;
};

struct Organisation {
    std::uint64_t id = 0;
    std::string name;
    crypto::Plan plan = crypto::Plan::starter;
    OrgPolicy policy;
    std::int64_t created_unix = 0;
    // Closure (vaultmx org close): when, 0 while open; purging once its purge began (no reopen then).
    std::int64_t closed_unix = 0;
    bool purging = false;
    friend bool operator==(const Organisation&, const Organisation&) = default;
};

struct Domain {
    std::uint64_t id = 0;
    std::string name;        // lower case
    std::uint64_t org_id = 0;
    std::int64_t created_unix = 0;
    friend bool operator==(const Domain&, const Domain&) = default;
};

struct AppPassword {
    std::string label;
    std::string hash;        // Argon2id PHC string
    std::int64_t created_unix = 0;
    friend bool operator==(const AppPassword&, const AppPassword&) = default;
};

// A security key or passkey (WebAuthn) the user registered on the portal: what verifying a sign-in
// with it needs (crypto/webauthn), and what the security page shows.
inline constexpr std::size_t security_keys_per_user_max = 8;
inline constexpr std::size_t security_key_id_bytes_max = 1023;       // WebAuthn's credential id limit
inline constexpr std::size_t security_key_public_bytes_max = 512;    // a COSE_Key (EC2 P-256, Ed25519)

struct SecurityKey {
    std::string label;                      // the user's name for it, Pattern::label
    std::vector<std::uint8_t> credential_id;
    std::vector<std::uint8_t> public_key;   // the COSE_Key as registered
    std::uint32_t sign_count = 0;           // the authenticator's counter (a clone shows as a step back)
    std::int64_t created_unix = 0;
    std::int64_t last_used_unix = 0;
    friend bool operator==(const SecurityKey&, const SecurityKey&) = default;
};

struct User {
    std::uint64_t id = 0;
    std::string address;     // lower case
    std::uint64_t org_id = 0;
    std::uint64_t domain_id = 0;
    std::string password_hash;               // empty: no password login
    std::vector<AppPassword> app_passwords;  // labels unique
    std::vector<std::uint8_t> totp_secret;   // empty: not enrolled
    std::uint64_t totp_last_step = 0;        // replay guard
    std::uint64_t quota_bytes = 0;           // 0: no quota
    UserState state = UserState::active;
    std::uint64_t token_generation = 0;      // bumped by a remote logout: older tokens are void
    std::int64_t created_unix = 0;
    // Addresses the user may also send as on submission (their own is always allowed and never
    // listed): lower case, unique, at most allowed_senders_per_user_max (see senders.h).
    std::vector<std::string> allowed_senders;
    // Closure (state closed): when it was closed, the state a reopen gives back, whether the closure
    // came with its organisation's (an org reopen undoes only those), and whether its purge began
    // (from then on nothing gives it back). All zero / false while the account is not closed.
    std::int64_t closed_unix = 0;
    UserState state_before_close = UserState::active;
    bool closed_with_org = false;
    bool purging = false;
    std::vector<SecurityKey> security_keys;  // labels and credential ids unique
    friend bool operator==(const User&, const User&) = default;
};

// When a closed account or organisation is due for its purge: closure_purge_days after closing
// (0: at once). Never for an open one.
bool purge_due(std::int64_t closed_unix, std::uint32_t closure_purge_days, std::int64_t now_unix) noexcept;

// ok, or why `senders` cannot be the allowed senders of the user at `own_address`: each a valid,
// lower-case address other than the user's own, none twice, at most allowed_senders_per_user_max.
DirectoryErrc check_allowed_senders(std::string_view own_address, const std::vector<std::string>& senders);
// ok, or invalid_hourly_limit when either submission limit is above submission_per_hour_max.
DirectoryErrc check_hourly_limits(const OrgPolicy& policy) noexcept;

std::vector<std::uint8_t> encode(const Organisation& org);
std::vector<std::uint8_t> encode(const Domain& domain);
std::vector<std::uint8_t> encode(const User& user);
std::optional<Organisation> decode_organisation(std::span<const std::uint8_t> bytes);
std::optional<Domain> decode_domain(std::span<const std::uint8_t> bytes);
std::optional<User> decode_user(std::span<const std::uint8_t> bytes);

}  // namespace vmx

template <>
struct std::is_error_code_enum<vmx::DirectoryErrc> : std::true_type {};
