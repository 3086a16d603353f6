// The key hierarchy: scopes by plan, rotation with old records still readable, rewrap, master-key
// rotation, persistence round trip, and crypto-shredding.
#include "tests/crypto/keyring_test_util.h"
#include "crypto/keyring.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/errc.h"
#include "crypto/random.h"
#include "tests/crypto/sealed_v1_writer.h"

namespace vmx::crypto {
namespace {

using testing::bytes_of;
using testing::mail_identity;
using testing::test_master;

TEST(Scope, FollowsThePlan) {
    EXPECT_EQ(scope_for(Plan::starter, 7, 9), (Scope{ScopeKind::shared, 0}));
    EXPECT_EQ(scope_for(Plan::starter, 8, 10), (Scope{ScopeKind::shared, 0}));  // starters share one key
    EXPECT_EQ(scope_for(Plan::pro, 7, 9), (Scope{ScopeKind::organisation, 7}));
    EXPECT_EQ(scope_for(Plan::ultimate, 7, 9), (Scope{ScopeKind::user, 9}));
}

TEST(Keyring, ScopesGetSeparateKeysAndStartersShareOne) {
    Keyring ring = Keyring::create(test_master(1));
    auto starter_a = ring.ensure_scope_key(scope_for(Plan::starter, 1, 11), 100);
    auto starter_b = ring.ensure_scope_key(scope_for(Plan::starter, 2, 22), 100);
    auto pro_a = ring.ensure_scope_key(scope_for(Plan::pro, 1, 11), 100);
    auto pro_b = ring.ensure_scope_key(scope_for(Plan::pro, 2, 22), 100);
    auto ultimate = ring.ensure_scope_key(scope_for(Plan::ultimate, 1, 11), 100);
    ASSERT_TRUE(starter_a && starter_b && pro_a && pro_b && ultimate);
    EXPECT_EQ(starter_a->key_id, starter_b->key_id);
    EXPECT_NE(pro_a->key_id, pro_b->key_id);
    EXPECT_NE(pro_a->key_id, starter_a->key_id);
    EXPECT_NE(ultimate->key_id, pro_a->key_id);
    EXPECT_EQ(ring.records().size(), 4u);
}

TEST(Keyring, WrongScopeCannotOpen) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope alice = scope_for(Plan::ultimate, 1, 11);
    const Scope bob = scope_for(Plan::ultimate, 1, 22);
    ASSERT_TRUE(ring.ensure_scope_key(alice, 1));
    ASSERT_TRUE(ring.ensure_scope_key(bob, 1));
    auto keys = ring.snapshot();
    auto record = keys->seal(alice, mail_identity(11, 1), bytes_of("for alice only"));
    ASSERT_TRUE(record);
    // Bob's key does not open Alice's record, and neither does her record under his identity.
    auto bob_key = keys->active(bob);
    ASSERT_TRUE(bob_key);
    RecordIdentity as_alice = mail_identity(11, 1);
    as_alice.key = bob_key->ref;
    EXPECT_FALSE(crypto::open(bob_key->key, as_alice, *record));
    EXPECT_FALSE(keys->open(mail_identity(22, 1), *record));
    auto ok = keys->open(mail_identity(11, 1), *record);
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, bytes_of("for alice only"));
}

TEST(Keyring, RotationKeepsOldRecordsReadableAndRewrapsThem) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope org = scope_for(Plan::pro, 5, 0);
    auto v1 = ring.ensure_scope_key(org, 10);
    ASSERT_TRUE(v1);
    auto before = ring.snapshot()->seal(org, mail_identity(50, 1), bytes_of("old message"));
    ASSERT_TRUE(before);

    auto v2 = ring.rotate(v1->key_id, 20);
    ASSERT_TRUE(v2);
    EXPECT_EQ(v2->key_id, v1->key_id);
    EXPECT_EQ(v2->version, 2u);
    EXPECT_EQ(ring.records()[0].versions[0].state, KeyState::retiring);
    EXPECT_EQ(ring.records()[0].versions[1].state, KeyState::active);

    auto keys = ring.snapshot();
    auto after = keys->seal(org, mail_identity(50, 2), bytes_of("new message"));
    ASSERT_TRUE(after);
    EXPECT_EQ(peek_key(*after)->version, 2u);
    ASSERT_TRUE(keys->open(mail_identity(50, 1), *before));  // old version still serves reads
    ASSERT_TRUE(keys->open(mail_identity(50, 2), *after));

    // The background job rewraps the old record; then the old version can be destroyed.
    EXPECT_TRUE(keys->needs_rewrap(org, *before));
    EXPECT_FALSE(keys->needs_rewrap(org, *after));
    auto moved = keys->rewrap_to_active(org, mail_identity(50, 1), *before);
    ASSERT_TRUE(moved);
    EXPECT_FALSE(keys->needs_rewrap(org, *moved));
    ASSERT_TRUE(ring.finish_retirement(*v1));
    auto later = ring.snapshot();
    auto reopened = later->open(mail_identity(50, 1), *moved);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(*reopened, bytes_of("old message"));
    auto gone = later->open(mail_identity(50, 1), *before);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error(), CryptoErrc::key_destroyed);
}

TEST(Keyring, PlanChangeMovesRecordsToTheNewScope) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope starter = scope_for(Plan::starter, 5, 0);
    const Scope pro = scope_for(Plan::pro, 5, 0);
    ASSERT_TRUE(ring.ensure_scope_key(starter, 1));
    auto record = ring.snapshot()->seal(starter, mail_identity(50, 1), bytes_of("upgrade me"));
    ASSERT_TRUE(record);
    ASSERT_TRUE(ring.ensure_scope_key(pro, 2));
    auto keys = ring.snapshot();
    EXPECT_TRUE(keys->needs_rewrap(pro, *record));
    auto moved = keys->rewrap_to_active(pro, mail_identity(50, 1), *record);
    ASSERT_TRUE(moved);
    EXPECT_EQ(peek_key(*moved)->key_id, keys->active(pro)->ref.key_id);
    EXPECT_EQ(*keys->open(mail_identity(50, 1), *moved), bytes_of("upgrade me"));
}

// A record of format version 1 under the active key still needs the job: it is upgraded to a
// version 2 record (opened and sealed again), and then no longer needs anything.
TEST(Keyring, TheRewrapJobUpgradesVersion1Records) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope org = scope_for(Plan::pro, 5, 0);
    ASSERT_TRUE(ring.ensure_scope_key(org, 10));
    auto keys = ring.snapshot();
    auto active = keys->active(org);
    ASSERT_TRUE(active);
    RecordIdentity id = mail_identity(50, 1);
    id.key = active->ref;
    std::array<std::uint8_t, 32> dek{};
    std::array<std::uint8_t, 12> iv{};
    ASSERT_TRUE(random_bytes(dek) && random_bytes(iv));
    const auto old_record = vmx::testing::seal_v1(active->key, id, bytes_of("written by an older build"), dek, iv);
    ASSERT_EQ(old_record[2], 1);
    EXPECT_EQ(*keys->open(mail_identity(50, 1), old_record), bytes_of("written by an older build"));
    EXPECT_TRUE(keys->needs_rewrap(org, old_record));
    auto upgraded = keys->rewrap_to_active(org, mail_identity(50, 1), old_record);
    ASSERT_TRUE(upgraded) << upgraded.error().message();
    EXPECT_EQ((*upgraded)[2], 2);
    EXPECT_FALSE(keys->needs_rewrap(org, *upgraded));
    EXPECT_EQ(*keys->open(mail_identity(50, 1), *upgraded), bytes_of("written by an older build"));
    EXPECT_FALSE(keys->open(mail_identity(50, 2), *upgraded));
}

// Streams through the KeySet: sealed under the scope's active key, readable after a rotation
// (the head names its version), and the head alone is what a rewrap moves.
TEST(Keyring, StreamsFollowRotation) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope org = scope_for(Plan::pro, 5, 0);
    auto v1 = ring.ensure_scope_key(org, 10);
    ASSERT_TRUE(v1);
    auto keys = ring.snapshot();
    auto sealer = keys->begin_stream(org, mail_identity(50, 7));
    ASSERT_TRUE(sealer);
    auto head = sealer->seal(bytes_of("part one "), false);
    auto tail = sealer->seal(bytes_of("part two"), true);
    ASSERT_TRUE(head && tail);
    EXPECT_FALSE(keys->needs_rewrap(org, *tail));  // a continuation names no key
    ASSERT_TRUE(ring.rotate(v1->key_id, 20));
    auto rotated = ring.snapshot();
    EXPECT_TRUE(rotated->needs_rewrap(org, *head));
    auto moved = rotated->rewrap_to_active(org, mail_identity(50, 7), *head);
    ASSERT_TRUE(moved);
    ASSERT_TRUE(ring.finish_retirement(*v1));
    auto later = ring.snapshot();
    auto opener = later->open_stream(mail_identity(50, 7), *moved);
    ASSERT_TRUE(opener) << opener.error().message();
    EXPECT_EQ(*opener->open(*moved), bytes_of("part one "));
    EXPECT_EQ(*opener->open(*tail), bytes_of("part two"));
    EXPECT_TRUE(opener->finished());
    EXPECT_EQ(later->open_stream(mail_identity(50, 7), *head).error(), CryptoErrc::key_destroyed);
}

TEST(Keyring, CryptoShreddingMakesRecordsUnreadableForGood) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope user = scope_for(Plan::ultimate, 1, 77);
    auto ref = ring.ensure_scope_key(user, 1);
    ASSERT_TRUE(ref);
    ASSERT_TRUE(ring.rotate(ref->key_id, 2));
    auto record = ring.snapshot()->seal(user, mail_identity(77, 1), bytes_of("shred me"));
    ASSERT_TRUE(record);

    ASSERT_TRUE(ring.destroy(ref->key_id));
    auto r = ring.snapshot()->open(mail_identity(77, 1), *record);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), CryptoErrc::key_destroyed);
    // Nothing that could bring the key back is kept: no wrapped copy in the persisted records...
    for (const auto& v : ring.records()[0].versions) {
        EXPECT_EQ(v.state, KeyState::destroyed);
        EXPECT_TRUE(v.wrapped.empty());
    }
    // ...so a keyring reloaded from them cannot open it either, and the scope stays shredded.
    std::vector<ScopeKeyRecord> persisted;
    for (const auto& rec : ring.records()) persisted.push_back(*decode_key_record(encode_key_record(rec)));
    auto reloaded = Keyring::load(test_master(1), persisted);
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(reloaded->snapshot()->open(mail_identity(77, 1), *record).error(), CryptoErrc::key_destroyed);
    EXPECT_FALSE(reloaded->ensure_scope_key(user, 3));
}

TEST(Keyring, PersistedRecordsReloadOnlyWithTheRightMasterKey) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope org = scope_for(Plan::pro, 9, 0);
    auto ref = ring.ensure_scope_key(org, 1);
    ASSERT_TRUE(ref);
    ASSERT_TRUE(ring.rotate(ref->key_id, 2));
    auto record = ring.snapshot()->seal(org, mail_identity(90, 1), bytes_of("persist"));
    ASSERT_TRUE(record);

    std::vector<ScopeKeyRecord> persisted;
    for (const auto& rec : ring.records()) {
        auto decoded = decode_key_record(encode_key_record(rec));
        ASSERT_TRUE(decoded);
        persisted.push_back(*decoded);
    }
    auto same = Keyring::load(test_master(1), persisted);
    ASSERT_TRUE(same);
    EXPECT_EQ(*same->snapshot()->open(mail_identity(90, 1), *record), bytes_of("persist"));
    auto wrong = Keyring::load(test_master(2), persisted);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error(), CryptoErrc::authentication_failed);
    // New keys after a reload get fresh ids.
    auto next = same->ensure_scope_key(scope_for(Plan::pro, 10, 0), 3);
    ASSERT_TRUE(next);
    EXPECT_GT(next->key_id, ref->key_id);
}

TEST(Keyring, WrappedVersionsCannotBeSwapped) {
    Keyring ring = Keyring::create(test_master(1));
    auto a = ring.ensure_scope_key(scope_for(Plan::pro, 1, 0), 1);
    auto b = ring.ensure_scope_key(scope_for(Plan::pro, 2, 0), 1);
    ASSERT_TRUE(a && b);
    std::vector<ScopeKeyRecord> persisted = ring.records();
    std::swap(persisted[0].versions[0].wrapped, persisted[1].versions[0].wrapped);
    EXPECT_FALSE(Keyring::load(test_master(1), persisted));
}

TEST(Keyring, MasterRotationRewrapsScopeKeys) {
    Keyring ring = Keyring::create(test_master(1));
    const Scope org = scope_for(Plan::pro, 3, 0);
    ASSERT_TRUE(ring.ensure_scope_key(org, 1));
    auto record = ring.snapshot()->seal(org, mail_identity(30, 1), bytes_of("keep"));
    ASSERT_TRUE(record);
    const auto old_wrapped = ring.records()[0].versions[0].wrapped;
    ASSERT_TRUE(ring.rotate_master(test_master(2)));
    EXPECT_NE(ring.records()[0].versions[0].wrapped, old_wrapped);
    EXPECT_EQ(ring.master_check(), test_master(2).check);
    EXPECT_FALSE(Keyring::load(test_master(1), ring.records()));
    auto reloaded = Keyring::load(test_master(2), ring.records());
    ASSERT_TRUE(reloaded);
    EXPECT_EQ(*reloaded->snapshot()->open(mail_identity(30, 1), *record), bytes_of("keep"));
}

TEST(KeyRecord, DecodeRejectsDamage) {
    Keyring ring = Keyring::create(test_master(1));
    auto ref = ring.ensure_scope_key(scope_for(Plan::pro, 4, 0), 1);
    ASSERT_TRUE(ref);
    ASSERT_TRUE(ring.rotate(ref->key_id, 5));
    const auto bytes = encode_key_record(ring.records()[0]);
    ASSERT_TRUE(decode_key_record(bytes));
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_FALSE(decode_key_record(std::span(bytes).first(cut))) << cut;
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode_key_record(longer));
    auto future = bytes;
    future[0] = 3;
    EXPECT_EQ(decode_key_record(future).error(), CryptoErrc::unsupported_version);
}

}  // namespace
}  // namespace vmx::crypto
