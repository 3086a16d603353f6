// Account keys: every user's own key, wrapped by the plan scope's key. A plan change moves the
// wrap and leaves records alone; rotating a scope key rotates the account keys it wraps; shredding
// a scope or an account destroys what it wraps; the master key rotation leaves account keys alone;
// the format-2 record encoding is checked as hostile input.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "crypto/errc.h"
#include "crypto/keyring.h"
#include "tests/crypto/keyring_test_util.h"

namespace vmx::crypto {
namespace {

using testing::bytes_of;
using testing::mail_identity;
using testing::test_master;

std::vector<ScopeKeyRecord> persisted(const Keyring& ring) {
    std::vector<ScopeKeyRecord> out;
    for (const auto& r : ring.records()) {
        auto decoded = decode_key_record(encode_key_record(r));
        EXPECT_TRUE(decoded);
        if (decoded) out.push_back(*decoded);
    }
    return out;
}

const ScopeKeyRecord& record_of(const Keyring& ring, const Scope& scope) {
    for (const auto& r : ring.records())
        if (r.scope == scope) return r;
    ADD_FAILURE() << "no record";
    return ring.records().front();
}

TEST(AccountKeys, EveryPlanSealsUnderTheUsersOwnKeyWrappedByThePlanScope) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope starter = scope_for(Plan::starter, 1, 11);
    auto a = ring.ensure_account_key(11, starter, 10);
    auto b = ring.ensure_account_key(12, starter, 10);
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->key_id, b->key_id);  // starter users share the wrapping key, not the account key
    const ScopeKeyRecord& shared = record_of(ring, starter);
    EXPECT_EQ(record_of(ring, account_scope(11)).versions[0].wrapped_by, (KeyRef{shared.key_id, 1}));
    EXPECT_EQ(ring.ensure_account_key(11, starter, 20)->key_id, a->key_id);  // idempotent

    auto sealed = ring.snapshot()->seal(account_scope(11), mail_identity(11, 1), bytes_of("hello"));
    ASSERT_TRUE(sealed);
    EXPECT_EQ(*peek_key(*sealed), *a);
    auto reloaded = Keyring::load(test_master(1), persisted(ring));
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(*reloaded->snapshot()->open(mail_identity(11, 1), *sealed), bytes_of("hello"));
    // Another master key opens neither the scope key nor, so, the account keys.
    EXPECT_EQ(Keyring::load(test_master(2), persisted(ring)).error(), CryptoErrc::authentication_failed);
    // An account scope never gets a master-wrapped key, and an account never wraps another.
    EXPECT_EQ(ring.ensure_scope_key(account_scope(13), 1).error(), CryptoErrc::invalid_argument);
    EXPECT_EQ(ring.ensure_account_key(13, account_scope(11), 1).error(), CryptoErrc::invalid_argument);
}

TEST(AccountKeys, PlanChangeMovesOnlyTheWrap) {
    Keyring ring = Keyring::create(test_master(1));
    auto key = ring.ensure_account_key(21, scope_for(Plan::starter, 2, 21), 10);
    ASSERT_TRUE(key);
    auto sealed = ring.snapshot()->seal(account_scope(21), mail_identity(21, 1), bytes_of("kept as is"));
    ASSERT_TRUE(sealed);
    ring.saved();
    const Scope pro = scope_for(Plan::pro, 2, 21);
    auto moved = ring.ensure_account_key(21, pro, 11);
    ASSERT_TRUE(moved);
    EXPECT_EQ(*moved, *key);  // the same key and version: no record needs rewrapping
    EXPECT_FALSE(ring.snapshot()->needs_rewrap(account_scope(21), *sealed));
    const ScopeKeyRecord& org = record_of(ring, pro);
    EXPECT_EQ(record_of(ring, account_scope(21)).versions[0].wrapped_by, (KeyRef{org.key_id, 1}));
    // Only what changed is to be saved: the new organisation key and the account key.
    EXPECT_EQ(ring.changed().size(), 2U);
    auto reloaded = Keyring::load(test_master(1), persisted(ring));
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(*reloaded->snapshot()->open(mail_identity(21, 1), *sealed), bytes_of("kept as is"));
    // Ultimate: the user's own scope key wraps the account key.
    ASSERT_TRUE(ring.ensure_account_key(21, scope_for(Plan::ultimate, 2, 21), 12));
    const ScopeKeyRecord& own = record_of(ring, Scope{ScopeKind::user, 21});
    EXPECT_EQ(record_of(ring, account_scope(21)).versions[0].wrapped_by, (KeyRef{own.key_id, 1}));
}

TEST(AccountKeys, RotatingAScopeKeyRotatesTheAccountKeysItWraps) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope org = scope_for(Plan::pro, 3, 0);
    auto a = ring.ensure_account_key(31, org, 10);
    auto b = ring.ensure_account_key(32, org, 10);
    ASSERT_TRUE(a && b);
    auto old_record = ring.snapshot()->seal(account_scope(31), mail_identity(31, 1), bytes_of("before"));
    ASSERT_TRUE(old_record);
    const std::uint64_t org_id = record_of(ring, org).key_id;
    auto rotated = ring.rotate(org_id, 20);
    ASSERT_TRUE(rotated);
    for (std::uint64_t user : {31U, 32U}) {
        const ScopeKeyRecord& r = record_of(ring, account_scope(user));
        ASSERT_EQ(r.versions.size(), 2U);
        EXPECT_EQ(r.versions[0].state, KeyState::retiring);
        EXPECT_EQ(r.versions[1].state, KeyState::active);
        EXPECT_EQ(r.versions[1].wrapped_by, *rotated);
    }
    auto snapshot = ring.snapshot();
    EXPECT_TRUE(snapshot->needs_rewrap(account_scope(31), *old_record));
    auto rewrapped = snapshot->rewrap_to_active(account_scope(31), mail_identity(31, 1), *old_record);
    ASSERT_TRUE(rewrapped);
    // The walk is done: the old versions go, and the records under the new ones still open after a reload.
    for (const KeyRef ref : {KeyRef{org_id, 1}, KeyRef{a->key_id, 1}, KeyRef{b->key_id, 1}})
        ASSERT_TRUE(ring.finish_retirement(ref));
    auto reloaded = Keyring::load(test_master(1), persisted(ring));
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(*reloaded->snapshot()->open(mail_identity(31, 1), *rewrapped), bytes_of("before"));
    EXPECT_EQ(reloaded->snapshot()->open(mail_identity(31, 1), *old_record).error(), CryptoErrc::key_destroyed);
}

TEST(AccountKeys, ShreddingAnAccountOrItsScopeDestroysTheKeyForGood) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope starter = scope_for(Plan::starter, 4, 0);
    auto alice = ring.ensure_account_key(41, starter, 1);
    auto bob = ring.ensure_account_key(42, starter, 1);
    ASSERT_TRUE(alice && bob);
    auto alices = ring.snapshot()->seal(account_scope(41), mail_identity(41, 1), bytes_of("alice"));
    auto bobs = ring.snapshot()->seal(account_scope(42), mail_identity(42, 1), bytes_of("bob"));
    ASSERT_TRUE(alices && bobs);
    auto before_purge = persisted(ring);  // a key backup taken before the purge
    ASSERT_TRUE(ring.destroy(alice->key_id));
    auto after = Keyring::load(test_master(1), persisted(ring));
    ASSERT_TRUE(after);
    EXPECT_EQ(after->snapshot()->open(mail_identity(41, 1), *alices).error(), CryptoErrc::key_destroyed);
    EXPECT_EQ(*after->snapshot()->open(mail_identity(42, 1), *bobs), bytes_of("bob"));
    EXPECT_EQ(ring.ensure_account_key(41, starter, 2).error(), CryptoErrc::key_destroyed);
    // The older key backup still holds it: that is why every key backup must lose it too.
    EXPECT_TRUE(Keyring::load(test_master(1), before_purge)->snapshot()->open(mail_identity(41, 1), *alices));

    // An organisation's key shredded takes its users' account keys with it, here and at the next load.
    const Scope pro = scope_for(Plan::pro, 5, 0);
    auto carol = ring.ensure_account_key(51, pro, 1);
    ASSERT_TRUE(carol);
    auto carols = ring.snapshot()->seal(account_scope(51), mail_identity(51, 1), bytes_of("carol"));
    ASSERT_TRUE(carols);
    auto stale = persisted(ring);
    ASSERT_TRUE(ring.destroy(record_of(ring, pro).key_id));
    EXPECT_EQ(record_of(ring, account_scope(51)).versions[0].state, KeyState::destroyed);
    EXPECT_TRUE(record_of(ring, account_scope(51)).versions[0].wrapped.empty());
    // A stale account record whose wrapping key is gone loads as destroyed and is marked to be saved.
    for (auto& r : stale)
        if (r.scope == pro) r = record_of(ring, pro);
    auto loaded = Keyring::load(test_master(1), stale);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->snapshot()->open(mail_identity(51, 1), *carols).error(), CryptoErrc::key_destroyed);
    EXPECT_EQ(loaded->changed().size(), 1U);
}

TEST(AccountKeys, MasterRotationLeavesAccountKeysAndTheirRecordsReadable) {
    Keyring ring = Keyring::create(test_master(1));
    ASSERT_TRUE(ring.ensure_account_key(61, scope_for(Plan::pro, 6, 0), 1));
    auto sealed = ring.snapshot()->seal(account_scope(61), mail_identity(61, 1), bytes_of("six"));
    ASSERT_TRUE(sealed);
    const auto account_wrap = record_of(ring, account_scope(61)).versions[0].wrapped;
    ring.saved();
    ASSERT_TRUE(ring.rotate_master(test_master(2)));
    EXPECT_EQ(record_of(ring, account_scope(61)).versions[0].wrapped, account_wrap);
    EXPECT_EQ(ring.changed().size(), 1U);  // the organisation key only
    EXPECT_FALSE(Keyring::load(test_master(1), persisted(ring)));
    auto reloaded = Keyring::load(test_master(2), persisted(ring));
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(*reloaded->snapshot()->open(mail_identity(61, 1), *sealed), bytes_of("six"));
}

TEST(AccountKeys, WrapsCannotMoveToAnotherAccountOrWrapper) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope org = scope_for(Plan::pro, 7, 0);
    ASSERT_TRUE(ring.ensure_account_key(71, org, 1));
    ASSERT_TRUE(ring.ensure_account_key(72, org, 1));
    ASSERT_TRUE(ring.ensure_account_key(73, scope_for(Plan::pro, 8, 0), 1));
    const auto records = persisted(ring);
    auto at = [](std::vector<ScopeKeyRecord>& rs, const Scope& s) -> ScopeKeyRecord& {
        return *std::find_if(rs.begin(), rs.end(), [&](const ScopeKeyRecord& r) { return r.scope == s; });
    };
    auto swapped = records;
    std::swap(at(swapped, account_scope(71)).versions[0].wrapped, at(swapped, account_scope(72)).versions[0].wrapped);
    EXPECT_EQ(Keyring::load(test_master(1), swapped).error(), CryptoErrc::authentication_failed);
    auto rewired = records;
    at(rewired, account_scope(71)).versions[0].wrapped_by = at(rewired, account_scope(73)).versions[0].wrapped_by;
    EXPECT_EQ(Keyring::load(test_master(1), rewired).error(), CryptoErrc::authentication_failed);
}

TEST(AccountKeys, RecordsFromBeforeAccountKeysMoveToThemAndThenShredWithThem) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope starter = scope_for(Plan::starter, 9, 91);
    ASSERT_TRUE(ring.ensure_scope_key(starter, 1));
    auto legacy = ring.snapshot()->seal(starter, mail_identity(91, 1), bytes_of("old mail"));  // as before
    ASSERT_TRUE(legacy);
    auto key = ring.ensure_account_key(91, starter, 2);  // the daemon's start-up step
    ASSERT_TRUE(key);
    auto snapshot = ring.snapshot();
    ASSERT_TRUE(snapshot->needs_rewrap(account_scope(91), *legacy));  // the migration walk's test
    auto moved = snapshot->rewrap_to_active(account_scope(91), mail_identity(91, 1), *legacy);
    ASSERT_TRUE(moved);
    EXPECT_EQ(*peek_key(*moved), *key);
    EXPECT_FALSE(snapshot->needs_rewrap(account_scope(91), *moved));
    ASSERT_TRUE(ring.destroy(key->key_id));
    EXPECT_EQ(ring.snapshot()->open(mail_identity(91, 1), *moved).error(), CryptoErrc::key_destroyed);
}

TEST(AccountKeys, Format2RecordsDecodeStrictly) {
    Keyring ring = Keyring::create(test_master(1));
    auto key = ring.ensure_account_key(81, scope_for(Plan::starter, 8, 0), 1);
    ASSERT_TRUE(key);
    const ScopeKeyRecord& record = record_of(ring, account_scope(81));
    const auto bytes = encode_key_record(record);
    EXPECT_EQ(bytes[0], 2);
    auto decoded = decode_key_record(bytes);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->versions[0].wrapped_by, record.versions[0].wrapped_by);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) EXPECT_FALSE(decode_key_record(std::span(bytes).first(cut))) << cut;
    // A master-wrapped record keeps format 1, byte for byte as before.
    EXPECT_EQ(encode_key_record(record_of(ring, scope_for(Plan::starter, 8, 0)))[0], 1);
    // Wrapped by itself, or a half-zero wrapper: refused.
    ScopeKeyRecord self = record;
    self.versions[0].wrapped_by = {self.key_id, 1};
    EXPECT_FALSE(decode_key_record(encode_key_record(self)));
    ScopeKeyRecord half = record;
    half.versions[0].wrapped_by.version = 0;
    EXPECT_FALSE(decode_key_record(encode_key_record(half)));
    // Format 2 naming no wrapping key would have a second encoding: refused.
    auto no_wrapper = bytes;
    std::fill(no_wrapper.end() - 12, no_wrapper.end(), std::uint8_t{0});
    EXPECT_EQ(decode_key_record(no_wrapper).error(), CryptoErrc::bad_record);
    auto unknown = bytes;
    unknown[0] = 3;
    EXPECT_EQ(decode_key_record(unknown).error(), CryptoErrc::unsupported_version);
}

}  // namespace
}  // namespace vmx::crypto
