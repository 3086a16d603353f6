// The keyring's persistence: survives reopen, binds the data folder to its master key.
#include "tests/support/test_keys.h"
#include "store/key_store.h"

#include <gtest/gtest.h>

#include <fstream>

#include "crypto/errc.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

crypto::MasterKey master(std::uint8_t seed) { return vmx::testing::fixed_master_key(seed); }

TEST(KeyStore, KeyringSurvivesReopenAndOpensOldRecords) {
    testing::TempDir dir;
    const std::string path = dir.sub("keys");
    std::vector<std::uint8_t> record;
    const crypto::Scope org = crypto::scope_for(crypto::Plan::pro, 4, 0);
    crypto::RecordIdentity id{};
    id.store = crypto::StoreKind::mail;
    id.record_id = 7;
    {
        auto env = testing::open_test_env(path, EnvOptions{});
        ASSERT_TRUE(env);
        auto store = KeyStore::open(**env);
        ASSERT_TRUE(store);
        auto ring = store->load(master(1));
        ASSERT_TRUE(ring);
        auto ref = ring->ensure_scope_key(org, 100);
        ASSERT_TRUE(ref);
        ASSERT_TRUE(ring->rotate(ref->key_id, 200));
        ASSERT_TRUE(store->save(*ring));
        auto sealed = ring->snapshot()->seal(org, id, testing::bytes("kept across restarts"));
        ASSERT_TRUE(sealed);
        record = *sealed;
    }
    auto env = testing::open_test_env(path, EnvOptions{});
    ASSERT_TRUE(env);
    auto store = KeyStore::open(**env);
    ASSERT_TRUE(store);
    auto ring = store->load(master(1));
    ASSERT_TRUE(ring);
    ASSERT_EQ(ring->records().size(), 1u);
    EXPECT_EQ(ring->records()[0].versions.size(), 2u);
    auto opened = ring->snapshot()->open(id, record);
    ASSERT_TRUE(opened);
    EXPECT_EQ(testing::text(*opened), "kept across restarts");
}

TEST(KeyStore, AnotherMasterKeyIsRefusedEvenBeforeAnyScopeKeyExists) {
    testing::TempDir dir;
    auto env = testing::open_test_env(dir.sub("keys"), EnvOptions{});
    ASSERT_TRUE(env);
    auto store = KeyStore::open(**env);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->load(master(1)));  // a new store records the fingerprint
    auto other = store->load(master(2));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error(), crypto::CryptoErrc::authentication_failed);
    EXPECT_TRUE(store->load(master(1)));
}

TEST(KeyStore, NoKeyMaterialInTheClear) {
    testing::TempDir dir;
    const std::string path = dir.sub("keys");
    std::vector<std::vector<std::uint8_t>> keys_in_clear;
    {
        auto env = testing::open_test_env(path, EnvOptions{});
        auto store = KeyStore::open(**env);
        auto ring = store->load(master(1));
        ASSERT_TRUE(ring);
        for (std::uint64_t user = 1; user <= 5; ++user)
            ASSERT_TRUE(ring->ensure_scope_key(crypto::scope_for(crypto::Plan::ultimate, 1, user), 1));
        ASSERT_TRUE(store->save(*ring));
        auto snapshot = ring->snapshot();
        for (std::uint64_t user = 1; user <= 5; ++user) {
            auto active = snapshot->active(crypto::scope_for(crypto::Plan::ultimate, 1, user));
            ASSERT_TRUE(active);
            keys_in_clear.emplace_back(active->key.begin(), active->key.end());
        }
    }
    const std::string file = testing::stored_bytes(path);
    ASSERT_FALSE(file.empty());
    for (const auto& key : keys_in_clear)
        EXPECT_EQ(file.find(std::string(key.begin(), key.end())), std::string::npos);
}

}  // namespace
}  // namespace vmx::store
