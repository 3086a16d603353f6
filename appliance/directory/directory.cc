// The directory store (see directory.h). Validation happens here, before anything is written, so
// every caller (the admin commands today, an import tool later) gets the same rules and errors.
#include "appliance/directory/directory.h"
#include "appliance/directory/directory_keys.h"

#include <algorithm>
#include <cstring>

#include "core/patterns.h"
#include "crypto/hkdf.h"
#include "store/codec.h"
#include "store/errc.h"

namespace vmx {
namespace {

using directory_keys::as_bytes;
using directory_keys::get_le64;
using directory_keys::identity;
using directory_keys::le64;
using directory_keys::record_key;
using directory_keys::unknown_or;

constexpr char kNextId[] = "next_id";

// The domain part of an already validated address.
std::string_view domain_of(std::string_view address) { return address.substr(address.rfind('@') + 1); }

}  // namespace

std::optional<crypto::RecordIdentity> stored_directory_identity(std::span<const std::uint8_t> key) {
    if (key.size() != 9) return std::nullopt;
    std::uint64_t id = 0;
    for (std::size_t i = 1; i < 9; ++i) id = id << 8 | key[i];
    return identity(static_cast<Directory::Kind>(key[0]), id);
}

std::string lower_ascii(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

Result<crypto::SecretBytes> Directory::derive_index_key(std::span<const std::uint8_t> master_key) {
    return crypto::hkdf_sha256(master_key, {}, "vaultmx directory blind index v1", directory_index_key_bytes);
}

Result<Directory> Directory::open(store::Env& env, crypto::SecretBytes index_key) {
    if (index_key.size() != directory_index_key_bytes) return fail(std::make_error_code(std::errc::invalid_argument));
    auto records = env.open_dbi("records");
    if (!records) return fail(records.error());
    auto index = env.open_dbi("index");
    if (!index) return fail(index.error());
    auto meta = env.open_dbi("meta");
    if (!meta) return fail(meta.error());
    return Directory(env, *records, *index, *meta, std::move(index_key));
}

std::array<std::uint8_t, 17> Directory::index_key_of(Kind kind, std::string_view lower_name) const {
    std::array<std::uint8_t, 17> key{};
    key[0] = static_cast<std::uint8_t>(kind);
    std::vector<std::uint8_t> info;
    info.reserve(lower_name.size() + 1);
    info.push_back(static_cast<std::uint8_t>(kind));
    info.insert(info.end(), lower_name.begin(), lower_name.end());
    // HKDF-Expand of a fixed key over the name is a keyed PRF: equal names meet, nothing is revealed.
    // Every RCPT and login looks names up, so the per-thread cache keeps the extract step and the
    // HMAC key state instead of redoing them per look-up (same output as hkdf_sha256_into).
    const std::span<const std::uint8_t, directory_index_key_bytes> ikm(index_key_.view().data(), directory_index_key_bytes);
    auto ok = crypto::hkdf_sha256_cached_into(ikm, info, std::span<std::uint8_t>(key).subspan(1));
    VMX_ASSERT(ok);  // fails only for lengths outside HKDF's range, which these never are
    return key;
}

template <class Txn>
Result<std::uint64_t> Directory::lookup(Txn& txn, Kind kind, std::string_view lower_name) const {
    const auto key = index_key_of(kind, lower_name);
    auto value = txn.get(index_, key);
    if (!value) return fail(value.error());
    if (value->size() != 8) return fail(DirectoryErrc::corrupt);
    return get_le64(*value);
}

template <class Txn>
Result<std::vector<std::uint8_t>> Directory::load(Txn& txn, const crypto::KeySet& keys, Kind kind,
                                                  std::uint64_t id) const {
    const auto key = record_key(kind, id);
    auto sealed = txn.get(records_, key);
    if (!sealed) return fail(sealed.error());
    return store::open_value(keys, identity(kind, id), *sealed);
}

Result<void> Directory::store_record(store::WriteTxn& txn, const crypto::KeySet& keys, Kind kind, std::uint64_t id,
                                     const std::vector<std::uint8_t>& plain) {
    auto sealed = store::seal_value(keys, appliance_scope, identity(kind, id), plain, store::Compress::never);
    if (!sealed) return fail(sealed.error());
    return txn.put(records_, record_key(kind, id), *sealed);
}

Result<std::uint64_t> Directory::next_id(store::WriteTxn& txn) {
    std::uint64_t next = 1;
    auto current = txn.get(meta_, as_bytes(kNextId));
    if (current) {
        if (current->size() != 8) return fail(DirectoryErrc::corrupt);
        next = get_le64(*current);
    } else if (current.error() != store::StoreErrc::not_found) {
        return fail(current.error());
    }
    if (auto r = txn.put(meta_, as_bytes(kNextId), le64(next + 1)); !r) return fail(r.error());
    return next;
}

// ---- readers -----------------------------------------------------------------------------------

template <class Txn>
Result<Organisation> Directory::org(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const {
    auto plain = load(txn, keys, Kind::org, id);
    if (!plain) return fail(unknown_or(plain.error(), DirectoryErrc::unknown_org));
    auto decoded = decode_organisation(*plain);
    if (!decoded || decoded->id != id) return fail(DirectoryErrc::corrupt);
    return std::move(*decoded);
}

template <class Txn>
Result<Organisation> Directory::find_org(Txn& txn, const crypto::KeySet& keys, std::string_view name) const {
    if (!matches(Pattern::org_name, name)) return fail(DirectoryErrc::invalid_org_name);
    auto id = lookup(txn, Kind::org, lower_ascii(name));
    if (!id) return fail(unknown_or(id.error(), DirectoryErrc::unknown_org));
    return org(txn, keys, *id);
}

template <class Txn>
Result<Domain> Directory::find_domain(Txn& txn, const crypto::KeySet& keys, std::string_view name) const {
    if (!matches(Pattern::domain, name)) return fail(DirectoryErrc::invalid_domain);
    auto id = lookup(txn, Kind::domain, lower_ascii(name));
    if (!id) return fail(unknown_or(id.error(), DirectoryErrc::unknown_domain));
    auto plain = load(txn, keys, Kind::domain, *id);
    if (!plain) return fail(unknown_or(plain.error(), DirectoryErrc::unknown_domain));
    auto decoded = decode_domain(*plain);
    if (!decoded || decoded->id != *id) return fail(DirectoryErrc::corrupt);
    return std::move(*decoded);
}

template <class Txn>
Result<User> Directory::user(Txn& txn, const crypto::KeySet& keys, std::uint64_t id) const {
    auto plain = load(txn, keys, Kind::user, id);
    if (!plain) return fail(unknown_or(plain.error(), DirectoryErrc::unknown_user));
    auto decoded = decode_user(*plain);
    if (!decoded || decoded->id != id) return fail(DirectoryErrc::corrupt);
    return std::move(*decoded);
}

template <class Txn>
Result<User> Directory::find_user(Txn& txn, const crypto::KeySet& keys, std::string_view address) const {
    if (!matches(Pattern::address, address)) return fail(DirectoryErrc::invalid_address);
    const std::string lower = lower_ascii(address);
    auto id = lookup(txn, Kind::user, lower);
    if (!id) return fail(unknown_or(id.error(), DirectoryErrc::unknown_user));
    auto found = user(txn, keys, *id);
    if (found && found->address != lower) return fail(DirectoryErrc::corrupt);  // an index entry moved
    return found;
}

template Result<User> Directory::find_user(store::ReadTxn&, const crypto::KeySet&, std::string_view) const;
template Result<User> Directory::find_user(store::WriteTxn&, const crypto::KeySet&, std::string_view) const;
template Result<User> Directory::user(store::ReadTxn&, const crypto::KeySet&, std::uint64_t) const;
template Result<Domain> Directory::find_domain(store::ReadTxn&, const crypto::KeySet&, std::string_view) const;
template Result<Organisation> Directory::find_org(store::ReadTxn&, const crypto::KeySet&, std::string_view) const;
template Result<Organisation> Directory::org(store::ReadTxn&, const crypto::KeySet&, std::uint64_t) const;

template <class T, class Decode>
Result<std::vector<T>> Directory::list(store::ReadTxn& txn, const crypto::KeySet& keys, Kind kind,
                                       Decode decode) const {
    std::vector<T> out;
    auto cursor = store::Cursor::open(txn, records_);
    if (!cursor) return fail(cursor.error());
    const auto start = record_key(kind, 0);
    for (auto e = cursor->seek(start);; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e || (*e)->key.size() != 9 || (*e)->key[0] != static_cast<std::uint8_t>(kind)) break;
        std::uint64_t id = 0;
        for (std::size_t i = 1; i < 9; ++i) id = (id << 8) | (*e)->key[i];
        auto plain = store::open_value(keys, identity(kind, id), (*e)->value);
        if (!plain) return fail(plain.error());
        auto decoded = decode(*plain);
        if (!decoded || decoded->id != id) return fail(DirectoryErrc::corrupt);
        out.push_back(std::move(*decoded));
    }
    return out;
}

Result<std::vector<Organisation>> Directory::list_orgs(store::ReadTxn& txn, const crypto::KeySet& keys) const {
    return list<Organisation>(txn, keys, Kind::org, [](auto b) { return decode_organisation(b); });
}

Result<std::vector<Domain>> Directory::list_domains(store::ReadTxn& txn, const crypto::KeySet& keys) const {
    return list<Domain>(txn, keys, Kind::domain, [](auto b) { return decode_domain(b); });
}

Result<std::vector<User>> Directory::list_users(store::ReadTxn& txn, const crypto::KeySet& keys,
                                                std::optional<std::string_view> domain) const {
    std::optional<std::uint64_t> domain_id;
    if (domain) {
        auto d = find_domain(txn, keys, *domain);
        if (!d) return fail(d.error());
        domain_id = d->id;
    }
    auto users = list<User>(txn, keys, Kind::user, [](auto b) { return decode_user(b); });
    if (!users || !domain_id) return users;
    std::erase_if(*users, [&](const User& u) { return u.domain_id != *domain_id; });
    return users;
}

// ---- writers -----------------------------------------------------------------------------------

Result<Organisation> Directory::add_org(const crypto::KeySet& keys, std::string_view name, crypto::Plan plan,
                                        std::int64_t now_unix) {
    if (!matches(Pattern::org_name, name)) return fail(DirectoryErrc::invalid_org_name);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    const auto index_key = index_key_of(Kind::org, lower_ascii(name));
    if (txn->get(index_, index_key)) return fail(DirectoryErrc::org_exists);
    auto id = next_id(*txn);
    if (!id) return fail(id.error());
    Organisation org{*id, std::string(name), plan, {}, now_unix};
    if (auto r = store_record(*txn, keys, Kind::org, *id, encode(org)); !r) return fail(r.error());
    if (auto r = txn->put(index_, index_key, le64(*id)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return org;
}

Result<Organisation> Directory::set_plan(const crypto::KeySet& keys, std::string_view name, crypto::Plan plan) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (!matches(Pattern::org_name, name)) return fail(DirectoryErrc::invalid_org_name);
    auto id = lookup(*txn, Kind::org, lower_ascii(name));
    if (!id) return fail(unknown_or(id.error(), DirectoryErrc::unknown_org));
    auto found = org(*txn, keys, *id);
    if (!found) return fail(found.error());
    found->plan = plan;
    if (auto r = store_record(*txn, keys, Kind::org, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<Organisation> Directory::set_policy(const crypto::KeySet& keys, std::string_view name, const OrgPolicy& policy) {
    if (policy.allowed_networks.size() > allowed_networks_max) return fail(DirectoryErrc::too_many_networks);
    if (auto e = check_hourly_limits(policy); e != DirectoryErrc::ok) return fail(e);
    for (const std::string& net : policy.allowed_networks)
        if (!matches(Pattern::ipv4_cidr, net) && !matches(Pattern::ipv6_cidr, net))
            return fail(DirectoryErrc::invalid_network);
    if (!matches(Pattern::org_name, name)) return fail(DirectoryErrc::invalid_org_name);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto id = lookup(*txn, Kind::org, lower_ascii(name));
    if (!id) return fail(unknown_or(id.error(), DirectoryErrc::unknown_org));
    auto found = org(*txn, keys, *id);
    if (!found) return fail(found.error());
    found->policy = policy;
    if (auto r = store_record(*txn, keys, Kind::org, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<Domain> Directory::add_domain(const crypto::KeySet& keys, std::string_view domain, std::string_view org_name,
                                     std::int64_t now_unix) {
    if (!matches(Pattern::domain, domain)) return fail(DirectoryErrc::invalid_domain);
    if (!matches(Pattern::org_name, org_name)) return fail(DirectoryErrc::invalid_org_name);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto org_id = lookup(*txn, Kind::org, lower_ascii(org_name));
    if (!org_id) return fail(unknown_or(org_id.error(), DirectoryErrc::unknown_org));
    const std::string lower = lower_ascii(domain);
    const auto index_key = index_key_of(Kind::domain, lower);
    if (txn->get(index_, index_key)) return fail(DirectoryErrc::domain_exists);
    auto id = next_id(*txn);
    if (!id) return fail(id.error());
    Domain d{*id, lower, *org_id, now_unix};
    if (auto r = store_record(*txn, keys, Kind::domain, *id, encode(d)); !r) return fail(r.error());
    if (auto r = txn->put(index_, index_key, le64(*id)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return d;
}

Result<User> Directory::add_user(const crypto::KeySet& keys, std::string_view address, std::string password_hash,
                                 std::uint64_t quota_bytes, std::int64_t now_unix) {
    if (!matches(Pattern::address, address)) return fail(DirectoryErrc::invalid_address);
    if (password_hash.size() > password_hash_bytes_max) return fail(std::make_error_code(std::errc::invalid_argument));
    const std::string lower = lower_ascii(address);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto domain_id = lookup(*txn, Kind::domain, domain_of(lower));
    if (!domain_id) return fail(unknown_or(domain_id.error(), DirectoryErrc::unknown_domain));
    auto domain_plain = load(*txn, keys, Kind::domain, *domain_id);
    if (!domain_plain) return fail(domain_plain.error());
    auto domain = decode_domain(*domain_plain);
    if (!domain) return fail(DirectoryErrc::corrupt);
    auto owner = org(*txn, keys, domain->org_id);
    if (!owner) return fail(owner.error());
    if (owner->closed_unix != 0) return fail(DirectoryErrc::org_closed);  // its domains take nothing new
    const auto index_key = index_key_of(Kind::user, lower);
    if (txn->get(index_, index_key)) return fail(DirectoryErrc::user_exists);
    auto id = next_id(*txn);
    if (!id) return fail(id.error());
    User u;
    u.id = *id;
    u.address = lower;
    u.org_id = domain->org_id;
    u.domain_id = domain->id;
    u.password_hash = std::move(password_hash);
    u.quota_bytes = quota_bytes;
    u.created_unix = now_unix;
    if (auto r = store_record(*txn, keys, Kind::user, *id, encode(u)); !r) return fail(r.error());
    if (auto r = txn->put(index_, index_key, le64(*id)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return u;
}

Result<User> Directory::update_user(const crypto::KeySet& keys, const User& changed) {
    if (changed.app_passwords.size() > app_passwords_per_user_max) return fail(DirectoryErrc::too_many_app_passwords);
    for (const AppPassword& a : changed.app_passwords)
        if (!matches(Pattern::label, a.label)) return fail(DirectoryErrc::invalid_label);
    if (changed.password_hash.size() > password_hash_bytes_max || changed.totp_secret.size() > totp_secret_bytes_max)
        return fail(std::make_error_code(std::errc::invalid_argument));
    if (auto e = check_allowed_senders(changed.address, changed.allowed_senders); e != DirectoryErrc::ok) return fail(e);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto current = user(*txn, keys, changed.id);
    if (!current) return fail(current.error());
    if (current->address != changed.address) return fail(std::make_error_code(std::errc::invalid_argument));  // no renames here
    if (auto r = store_record(*txn, keys, Kind::user, changed.id, encode(changed)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return changed;
}

Result<User> Directory::add_sender(const crypto::KeySet& keys, std::string_view address, std::string_view sender) {
    if (!matches(Pattern::address, sender)) return fail(DirectoryErrc::invalid_address);
    return change_senders(keys, address, [lower = lower_ascii(sender)](User& u) {
        if (lower == u.address) return DirectoryErrc::sender_is_own_address;
        if (std::find(u.allowed_senders.begin(), u.allowed_senders.end(), lower) != u.allowed_senders.end())
            return DirectoryErrc::sender_exists;
        if (u.allowed_senders.size() >= allowed_senders_per_user_max) return DirectoryErrc::too_many_senders;
        u.allowed_senders.push_back(lower);
        return DirectoryErrc::ok;
    });
}

Result<User> Directory::remove_sender(const crypto::KeySet& keys, std::string_view address, std::string_view sender) {
    if (!matches(Pattern::address, sender)) return fail(DirectoryErrc::invalid_address);
    return change_senders(keys, address, [lower = lower_ascii(sender)](User& u) {
        if (std::erase(u.allowed_senders, lower) == 0) return DirectoryErrc::unknown_sender;
        return DirectoryErrc::ok;
    });
}

// Reads the user, lets `change` edit its senders and stores it, all in one write transaction, so
// two admins editing the same list cannot lose each other's change.
template <class Change>
Result<User> Directory::change_senders(const crypto::KeySet& keys, std::string_view address, Change change) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = find_user(*txn, keys, address);
    if (!found) return fail(found.error());
    if (auto e = change(*found); e != DirectoryErrc::ok) return fail(e);
    if (auto r = store_record(*txn, keys, Kind::user, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

template Result<User> Directory::user(store::WriteTxn&, const crypto::KeySet&, std::uint64_t) const;
template Result<Organisation> Directory::org(store::WriteTxn&, const crypto::KeySet&, std::uint64_t) const;
template Result<Organisation> Directory::find_org(store::WriteTxn&, const crypto::KeySet&, std::string_view) const;

}  // namespace vmx
