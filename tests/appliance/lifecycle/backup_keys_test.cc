// A backup's key store: which retired versions a backup keeps (the merge at creation), which
// shredded keys it must lose (the scrub), and the scrub on a real key store and manifest: the key
// leaves the file (no freed page keeps its wrap), the manifest is resealed over the new file, a
// second scrub changes nothing, a key store that is not the manifest's is left alone, and a scrub
// stopped before its last rename is settled by the next one.
#include "appliance/lifecycle/backup_keys.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "appliance/lifecycle/backup_files.h"
#include "appliance/lifecycle/backup_manifest.h"
#include "crypto/sha256.h"
#include "store/key_store.h"
#include "store/lmdb.h"
#include "tests/support/test_keys.h"

namespace vmx {
namespace {
namespace fs = std::filesystem;
using crypto::KeyState;
using crypto::ScopeKeyRecord;

ScopeKeyRecord record(std::uint64_t id, std::vector<KeyState> states) {
    ScopeKeyRecord r;
    r.key_id = id;
    r.scope = crypto::account_scope(100 + id);
    std::uint32_t version = 0;
    for (KeyState s : states) {
        crypto::KeyVersion v;
        v.version = ++version;
        v.state = s;
        if (s != KeyState::destroyed) v.wrapped.assign(40, static_cast<std::uint8_t>(id * 16 + version));
        r.versions.push_back(std::move(v));
    }
    return r;
}

TEST(BackupKeys, RetiredVersionsAreKeptButShreddedKeysAreNot) {
    const std::vector<ScopeKeyRecord> early{record(1, {KeyState::active}), record(2, {KeyState::active}),
                                            record(3, {KeyState::retiring, KeyState::active})};
    // Meanwhile key 1 rotated and its old version was destroyed, key 2 was shredded, key 3 is as it
    // was, key 4 is new.
    const std::vector<ScopeKeyRecord> late{record(1, {KeyState::destroyed, KeyState::active}),
                                           record(2, {KeyState::destroyed}),
                                           record(3, {KeyState::retiring, KeyState::active}), record(4, {KeyState::active})};
    const auto kept = retired_versions_kept(early, late);
    ASSERT_EQ(kept.size(), 1U);
    EXPECT_EQ(kept[0].key_id, 1U);
    EXPECT_EQ(kept[0].versions[0].state, KeyState::retiring);  // never a second active one
    EXPECT_EQ(kept[0].versions[0].wrapped, early[0].versions[0].wrapped);
    EXPECT_EQ(kept[0].versions[1].state, KeyState::active);
}

TEST(BackupKeys, OnlyShreddedKeysLeaveABackupNeverRetiredVersions) {
    const std::vector<ScopeKeyRecord> backup{record(1, {KeyState::active}), record(2, {KeyState::retiring, KeyState::active}),
                                             record(3, {KeyState::active}), record(5, {KeyState::destroyed})};
    std::vector<ScopeKeyRecord> live{record(1, {KeyState::destroyed}),                      // shredded
                                     record(2, {KeyState::destroyed, KeyState::active}),   // rotated: old backups need v1
                                     record(3, {KeyState::destroyed}), record(5, {KeyState::destroyed})};
    live[2].scope = crypto::account_scope(999);  // the same id for another scope: not this key
    const auto shreds = shreds_missing(backup, live);
    ASSERT_EQ(shreds.size(), 1U);  // key 5 is gone from the backup already
    EXPECT_EQ(shreds[0].key_id, 1U);
    EXPECT_TRUE(key_shredded(shreds[0]));
    EXPECT_TRUE(shreds[0].versions[0].wrapped.empty());
    EXPECT_FALSE(key_shredded(record(9, {})));
}

class ScrubTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("vmx-scrub-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "keys");
        crypto::Keyring ring = crypto::Keyring::create(testing::fixed_master_key(3));
        const auto starter = crypto::scope_for(crypto::Plan::starter, 1, 0);
        alice_ = ring.ensure_account_key(11, starter, 1)->key_id;
        ASSERT_TRUE(ring.ensure_account_key(12, starter, 1));
        {
            auto env = store::Env::open((dir_ / "keys").string(), store::EnvOptions{});
            ASSERT_TRUE(env);
            auto key_store = store::KeyStore::open(**env);
            ASSERT_TRUE(key_store);
            ASSERT_TRUE(key_store->save(ring, true));
        }
        fs::remove(dir_ / "keys" / "lock.mdb");
        for (const auto& r : ring.records())
            if (r.key_id == alice_) alice_wrap_ = r.versions[0].wrapped;
        write_manifest();
        // The live store shreds Alice's key.
        ASSERT_TRUE(ring.destroy(alice_));
        live_ = ring.records();
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write_manifest() {
        BackupManifest m;
        m.store_format = 1;
        m.segments = 1;
        m.created_unix = 1796551418;
        m.master_check = testing::fixed_master_key(3).check;
        BackupFile f{"keys/data.mdb", 0, {}};
        f.sha256 = *crypto::sha256_file((dir_ / f.path).string(), f.bytes);
        m.files.push_back(f);
        auto key = derive_backup_key(testing::fixed_master_key(3).material.view());
        ASSERT_TRUE(write_backup_manifest(m, *key));
        ASSERT_FALSE(write_durably((dir_ / "manifest").string(), *write_backup_manifest(m, *key)));
    }
    std::variant<BackupManifest, std::string> manifest() const {
        std::string text;
        EXPECT_FALSE(read_small_file((dir_ / "manifest").string(), backup_manifest_bytes_max, text));
        auto key = derive_backup_key(testing::fixed_master_key(3).material.view());
        return read_backup_manifest(text, *key, testing::fixed_master_key(3).check);
    }
    std::string keys_bytes() const {
        std::ifstream in(dir_ / "keys" / "data.mdb", std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }

    fs::path dir_;
    std::uint64_t alice_ = 0;
    std::vector<std::uint8_t> alice_wrap_;
    std::vector<ScopeKeyRecord> live_;
};

TEST_F(ScrubTest, TheShreddedKeyLeavesTheFileAndTheManifestFollows) {
    const std::string wrap(alice_wrap_.begin(), alice_wrap_.end());
    ASSERT_NE(keys_bytes().find(wrap), std::string::npos);
    auto scrubbed = scrub_backup_keys(dir_.string(), live_, testing::fixed_master_key(3));
    ASSERT_TRUE(std::holds_alternative<std::size_t>(scrubbed)) << std::get<std::string>(scrubbed);
    EXPECT_EQ(std::get<std::size_t>(scrubbed), 1U);
    EXPECT_EQ(keys_bytes().find(wrap), std::string::npos);  // not even in a freed page
    auto m = manifest();
    ASSERT_TRUE(std::holds_alternative<BackupManifest>(m)) << std::get<std::string>(m);
    std::uint64_t bytes = 0;
    EXPECT_EQ(std::get<BackupManifest>(m).files[0].sha256, *crypto::sha256_file((dir_ / "keys/data.mdb").string(), bytes));
    EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);  // keys/ and manifest: no leftovers
    // Nothing more to take: the file is left as it is.
    const std::string after = keys_bytes();
    EXPECT_EQ(std::get<std::size_t>(scrub_backup_keys(dir_.string(), live_, testing::fixed_master_key(3))), 0U);
    EXPECT_EQ(keys_bytes(), after);
}

TEST_F(ScrubTest, AKeyStoreThatIsNotTheManifestsIsLeftForVerify) {
    { std::ofstream(dir_ / "keys" / "data.mdb", std::ios::binary | std::ios::app) << "x"; }
    auto scrubbed = scrub_backup_keys(dir_.string(), live_, testing::fixed_master_key(3));
    ASSERT_TRUE(std::holds_alternative<std::string>(scrubbed));
    EXPECT_NE(std::get<std::string>(scrubbed).find("not the file the manifest lists"), std::string::npos);
    // Another master key: the manifest does not open.
    auto other = scrub_backup_keys(dir_.string(), live_, testing::fixed_master_key(4));
    ASSERT_TRUE(std::holds_alternative<std::string>(other));
}

TEST_F(ScrubTest, AStaleNextManifestIsDroppedAndTheScrubDoneAgain) {
    // A scrub stopped after writing its manifest beside the old one, before the key store moved.
    fs::copy_file(dir_ / "manifest", dir_ / "manifest.next");
    { std::ofstream(dir_ / "manifest.next", std::ios::binary | std::ios::app) << "damaged"; }
    fs::create_directories(dir_ / "keys.in");
    auto scrubbed = scrub_backup_keys(dir_.string(), live_, testing::fixed_master_key(3));
    ASSERT_TRUE(std::holds_alternative<std::size_t>(scrubbed)) << std::get<std::string>(scrubbed);
    EXPECT_EQ(std::get<std::size_t>(scrubbed), 1U);
    EXPECT_FALSE(fs::exists(dir_ / "manifest.next"));
    EXPECT_FALSE(fs::exists(dir_ / "keys.in"));
    EXPECT_TRUE(std::holds_alternative<BackupManifest>(manifest()));
}

}  // namespace
}  // namespace vmx
