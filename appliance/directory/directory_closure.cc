// Account and organisation closure in the directory (see directory.h, "Closure"): the state
// changes of close and reopen, the purge's marks, and the purge's last directory step. Closing
// removes nothing; only a purge (appliance/jobs/closure_purge.h) does, and it marks the record
// first so that nothing gives back an account whose data is half gone. Control thread only.
#include <algorithm>

#include "appliance/directory/directory.h"
#include "appliance/directory/directory_keys.h"
#include "core/patterns.h"
#include "store/codec.h"
#include "store/errc.h"

namespace vmx {
namespace {

using directory_keys::get_le64;
using directory_keys::identity;
using directory_keys::record_key;

constexpr std::string_view kShredPrefix = "shred";
constexpr std::size_t shred_key_bytes = kShredPrefix.size() + 1 + 8;

std::array<std::uint8_t, shred_key_bytes> shred_key(const crypto::Scope& scope) {
    std::array<std::uint8_t, shred_key_bytes> key{};
    std::copy(kShredPrefix.begin(), kShredPrefix.end(), key.begin());
    key[kShredPrefix.size()] = static_cast<std::uint8_t>(scope.kind);
    for (std::size_t i = 0; i < 8; ++i)
        key[kShredPrefix.size() + 1 + i] = static_cast<std::uint8_t>(scope.owner >> (56 - 8 * i));
    return key;
}

constexpr std::array<std::uint8_t, 1> kMarked{1};

// Closes one user (its record already read): the state it had comes back on reopen.
void close_record(User& u, std::int64_t now_unix, bool with_org) {
    u.state_before_close = u.state;
    u.state = UserState::closed;
    u.closed_unix = now_unix;
    u.closed_with_org = with_org;
    ++u.token_generation;  // every session token of the account is void from now on
}

void reopen_record(User& u) {
    u.state = u.state_before_close;
    u.state_before_close = UserState::active;
    u.closed_unix = 0;
    u.closed_with_org = false;
}

}  // namespace

template <class Txn>
Result<std::vector<User>> Directory::users_of_org(Txn& txn, const crypto::KeySet& keys, std::uint64_t org_id) const {
    std::vector<User> out;
    auto cursor = store::Cursor::open(txn, records_);
    if (!cursor) return fail(cursor.error());
    for (auto e = cursor->seek(record_key(Kind::user, 0));; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e || (*e)->key.size() != 9 || (*e)->key[0] != static_cast<std::uint8_t>(Kind::user)) break;
        std::uint64_t id = 0;
        for (std::size_t i = 1; i < 9; ++i) id = (id << 8) | (*e)->key[i];
        auto plain = store::open_value(keys, identity(Kind::user, id), (*e)->value);
        if (!plain) return fail(plain.error());
        auto decoded = decode_user(*plain);
        if (!decoded || decoded->id != id) return fail(DirectoryErrc::corrupt);
        if (decoded->org_id == org_id) out.push_back(std::move(*decoded));
    }
    return out;
}

Result<User> Directory::close_user(const crypto::KeySet& keys, std::string_view address, std::int64_t now_unix) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = find_user(*txn, keys, address);
    if (!found) return fail(found.error());
    if (found->state == UserState::closed) return fail(DirectoryErrc::account_closed);
    close_record(*found, now_unix, false);
    if (auto r = store_record(*txn, keys, Kind::user, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<User> Directory::reopen_user(const crypto::KeySet& keys, std::string_view address) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = find_user(*txn, keys, address);
    if (!found) return fail(found.error());
    if (found->state != UserState::closed) return fail(DirectoryErrc::account_not_closed);
    if (found->purging) return fail(DirectoryErrc::account_purged);
    auto org_of = org(*txn, keys, found->org_id);
    if (!org_of) return fail(org_of.error());
    if (org_of->closed_unix != 0) return fail(DirectoryErrc::org_closed);
    reopen_record(*found);
    if (auto r = store_record(*txn, keys, Kind::user, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<Organisation> Directory::close_org(const crypto::KeySet& keys, std::string_view name, std::int64_t now_unix) {
    if (!matches(Pattern::org_name, name)) return fail(DirectoryErrc::invalid_org_name);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = find_org(*txn, keys, name);
    if (!found) return fail(found.error());
    if (found->closed_unix != 0) return fail(DirectoryErrc::org_closed);
    auto users = users_of_org(*txn, keys, found->id);
    if (!users) return fail(users.error());
    for (User& u : *users) {
        if (u.state == UserState::closed) continue;  // closed on its own: keeps its own time
        close_record(u, now_unix, true);
        if (auto r = store_record(*txn, keys, Kind::user, u.id, encode(u)); !r) return fail(r.error());
    }
    found->closed_unix = now_unix;
    if (auto r = store_record(*txn, keys, Kind::org, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<Organisation> Directory::reopen_org(const crypto::KeySet& keys, std::string_view name) {
    if (!matches(Pattern::org_name, name)) return fail(DirectoryErrc::invalid_org_name);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = find_org(*txn, keys, name);
    if (!found) return fail(found.error());
    if (found->closed_unix == 0) return fail(DirectoryErrc::org_not_closed);
    if (found->purging) return fail(DirectoryErrc::account_purged);
    auto users = users_of_org(*txn, keys, found->id);
    if (!users) return fail(users.error());
    for (User& u : *users) {
        if (u.state != UserState::closed || !u.closed_with_org) continue;
        if (u.purging) return fail(DirectoryErrc::account_purged);
        reopen_record(u);
        if (auto r = store_record(*txn, keys, Kind::user, u.id, encode(u)); !r) return fail(r.error());
    }
    found->closed_unix = 0;
    if (auto r = store_record(*txn, keys, Kind::org, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<User> Directory::mark_purging(const crypto::KeySet& keys, std::uint64_t user_id) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = user(*txn, keys, user_id);
    if (!found) return fail(found.error());
    if (found->state != UserState::closed) return fail(DirectoryErrc::account_not_closed);
    if (found->purging) return found;
    found->purging = true;
    if (auto r = store_record(*txn, keys, Kind::user, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<Organisation> Directory::mark_org_purging(const crypto::KeySet& keys, std::uint64_t org_id) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = org(*txn, keys, org_id);
    if (!found) return fail(found.error());
    if (found->closed_unix == 0) return fail(DirectoryErrc::org_not_closed);
    if (found->purging) return found;
    found->purging = true;
    if (auto r = store_record(*txn, keys, Kind::org, found->id, encode(*found)); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return found;
}

Result<void> Directory::remove_user(const crypto::KeySet& keys, std::uint64_t user_id) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = user(*txn, keys, user_id);
    if (!found) return found.error() == DirectoryErrc::unknown_user ? Result<void>{} : fail(found.error());
    if (!found->purging) return fail(DirectoryErrc::account_not_closed);
    const auto index_key = index_key_of(Kind::user, found->address);
    // The index entry goes only while it names this user (the address may already be someone's).
    if (auto named = txn->get(index_, index_key); named && named->size() == 8 && get_le64(*named) == user_id) {
        if (auto r = txn->erase(index_, index_key); !r) return fail(r.error());
    }
    if (auto r = txn->erase(records_, record_key(Kind::user, user_id)); !r) return fail(r.error());
    const crypto::Scope own{crypto::ScopeKind::user, user_id};
    if (auto r = txn->put(meta_, shred_key(own), kMarked); !r) return fail(r.error());
    return txn->commit();
}

Result<void> Directory::remove_org(const crypto::KeySet& keys, std::uint64_t org_id) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto found = org(*txn, keys, org_id);
    if (!found) return found.error() == DirectoryErrc::unknown_org ? Result<void>{} : fail(found.error());
    if (!found->purging) return fail(DirectoryErrc::org_not_closed);
    auto users = users_of_org(*txn, keys, org_id);
    if (!users) return fail(users.error());
    if (!users->empty()) return fail(std::make_error_code(std::errc::directory_not_empty));
    std::vector<Domain> domains;
    {
        auto cursor = store::Cursor::open(*txn, records_);
        if (!cursor) return fail(cursor.error());
        for (auto e = cursor->seek(record_key(Kind::domain, 0));; e = cursor->next()) {
            if (!e) return fail(e.error());
            if (!*e || (*e)->key.size() != 9 || (*e)->key[0] != static_cast<std::uint8_t>(Kind::domain)) break;
            std::uint64_t id = 0;
            for (std::size_t i = 1; i < 9; ++i) id = (id << 8) | (*e)->key[i];
            auto plain = store::open_value(keys, identity(Kind::domain, id), (*e)->value);
            if (!plain) return fail(plain.error());
            auto decoded = decode_domain(*plain);
            if (!decoded || decoded->id != id) return fail(DirectoryErrc::corrupt);
            if (decoded->org_id == org_id) domains.push_back(std::move(*decoded));
        }
    }
    for (const Domain& d : domains) {
        if (auto r = txn->erase(index_, index_key_of(Kind::domain, d.name)); !r) return fail(r.error());
        if (auto r = txn->erase(records_, record_key(Kind::domain, d.id)); !r) return fail(r.error());
    }
    if (auto r = txn->erase(index_, index_key_of(Kind::org, lower_ascii(found->name))); !r) return fail(r.error());
    if (auto r = txn->erase(records_, record_key(Kind::org, org_id)); !r) return fail(r.error());
    const crypto::Scope own{crypto::ScopeKind::organisation, org_id};
    if (auto r = txn->put(meta_, shred_key(own), kMarked); !r) return fail(r.error());
    return txn->commit();
}

Result<std::vector<crypto::Scope>> Directory::pending_shreds(std::size_t max) const {
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    std::vector<crypto::Scope> out;
    auto cursor = store::Cursor::open(*txn, meta_);
    if (!cursor) return fail(cursor.error());
    const auto prefix = directory_keys::as_bytes(kShredPrefix);
    for (auto e = cursor->seek(prefix); out.size() < max; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e || (*e)->key.size() != shred_key_bytes || !std::equal(prefix.begin(), prefix.end(), (*e)->key.begin()))
            break;
        crypto::Scope scope;
        scope.kind = static_cast<crypto::ScopeKind>((*e)->key[kShredPrefix.size()]);
        if (scope.kind != crypto::ScopeKind::user && scope.kind != crypto::ScopeKind::organisation)
            return fail(DirectoryErrc::corrupt);
        for (std::size_t i = 0; i < 8; ++i) scope.owner = (scope.owner << 8) | (*e)->key[kShredPrefix.size() + 1 + i];
        out.push_back(scope);
    }
    return out;
}

Result<void> Directory::shred_done(const crypto::Scope& scope) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto r = txn->erase(meta_, shred_key(scope)); !r) return fail(r.error());
    return txn->commit();
}

Result<Directory::UsersPage> Directory::users_page(store::ReadTxn& txn, const crypto::KeySet& keys,
                                                   std::uint64_t from_id, std::size_t max) const {
    UsersPage page;
    auto cursor = store::Cursor::open(txn, records_);
    if (!cursor) return fail(cursor.error());
    for (auto e = cursor->seek(record_key(Kind::user, from_id));; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e || (*e)->key.size() != 9 || (*e)->key[0] != static_cast<std::uint8_t>(Kind::user)) break;
        std::uint64_t id = 0;
        for (std::size_t i = 1; i < 9; ++i) id = (id << 8) | (*e)->key[i];
        if (page.users.size() == max) {
            page.next_id = id;
            break;
        }
        auto plain = store::open_value(keys, identity(Kind::user, id), (*e)->value);
        if (!plain) return fail(plain.error());
        auto decoded = decode_user(*plain);
        if (!decoded || decoded->id != id) return fail(DirectoryErrc::corrupt);
        page.users.push_back(std::move(*decoded));
    }
    return page;
}

}  // namespace vmx
