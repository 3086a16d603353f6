// Env, WriteTxn, ReadTxn and Cursor: RAII, durability across reopen, map growth and map full.
#include "store/lmdb.h"

#include <gtest/gtest.h>
#include <lmdb.h>

#include <string>

#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;
using testing::text;

EnvOptions small_map(std::size_t map_bytes, std::size_t max_bytes) {
    EnvOptions o;
    o.map_bytes = map_bytes;
    o.map_bytes_max = max_bytes;
    return o;
}

TEST(LmdbTest, WriteCommitReadBack) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(1 << 20, 1 << 20));
    ASSERT_TRUE(env) << env.error().message();
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    {
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        ASSERT_TRUE(txn->put(*dbi, bytes("k1"), bytes("v1")));
        ASSERT_TRUE(txn->put(*dbi, bytes("k2"), bytes("v2")));
        auto got = txn->get(*dbi, bytes("k1"));
        ASSERT_TRUE(got);
        EXPECT_EQ(text(*got), "v1");
        ASSERT_TRUE(txn->commit());
        EXPECT_FALSE(txn->usable());
        EXPECT_EQ(txn->put(*dbi, bytes("k3"), bytes("v3")).error(), StoreErrc::failed);
    }
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    auto v = read->get(*dbi, bytes("k2"));
    ASSERT_TRUE(v);
    EXPECT_EQ(text(*v), "v2");
    EXPECT_EQ(read->get(*dbi, bytes("nope")).error(), StoreErrc::not_found);
}

TEST(LmdbTest, DestructorAbortsUncommitted) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(1 << 20, 1 << 20));
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    {
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        ASSERT_TRUE(txn->put(*dbi, bytes("k"), bytes("v")));
    }  // no commit
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->get(*dbi, bytes("k")).error(), StoreErrc::not_found);
}

TEST(LmdbTest, EraseAndNoOverwrite) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(1 << 20, 1 << 20));
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    auto txn = WriteTxn::begin(**env);
    ASSERT_TRUE(txn);
    ASSERT_TRUE(txn->put(*dbi, bytes("k"), bytes("v")));
    EXPECT_FALSE(txn->put(*dbi, bytes("k"), bytes("w"), PutMode::no_overwrite));
    EXPECT_TRUE(txn->usable());  // MDB_KEYEXIST is an answer, not a broken transaction
    auto erased = txn->erase(*dbi, bytes("k"));
    ASSERT_TRUE(erased);
    EXPECT_TRUE(*erased);
    auto again = txn->erase(*dbi, bytes("k"));
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    EXPECT_TRUE(txn->commit());
}

TEST(LmdbTest, CursorWalksInKeyOrder) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(1 << 20, 1 << 20));
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    {
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        for (const char* k : {"b", "d", "a", "c"}) ASSERT_TRUE(txn->put(*dbi, bytes(k), bytes(k)));
        ASSERT_TRUE(txn->commit());
    }
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    auto cursor = Cursor::open(*read, *dbi);
    ASSERT_TRUE(cursor);
    std::string seen;
    for (auto e = cursor->first(); e && *e; e = cursor->next()) seen += text((*e)->key);
    EXPECT_EQ(seen, "abcd");
    auto at = cursor->seek(bytes("bb"));
    ASSERT_TRUE(at && *at);
    EXPECT_EQ(text((*at)->key), "c");
}

TEST(LmdbTest, ReadTxnResetAndRenewSeesNewData) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(1 << 20, 1 << 20));
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    EXPECT_EQ(read->get(*dbi, bytes("k")).error(), StoreErrc::not_found);
    read->reset();
    EXPECT_FALSE(read->active());
    EXPECT_EQ(read->get(*dbi, bytes("k")).error(), StoreErrc::closed);
    {
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        ASSERT_TRUE(txn->put(*dbi, bytes("k"), bytes("v")));
        ASSERT_TRUE(txn->commit());
    }
    ASSERT_TRUE(read->renew());
    auto v = read->get(*dbi, bytes("k"));
    ASSERT_TRUE(v);
    EXPECT_EQ(text(*v), "v");
}

TEST(LmdbTest, ReopenAfterCloseKeepsEverything) {
    TempDir dir;
    const std::string path = dir.sub("e");
    constexpr int kRecords = 2000;
    {
        auto env = Env::open(path, small_map(8 << 20, 8 << 20));
        ASSERT_TRUE(env);
        auto dbi = (*env)->open_dbi("records");
        ASSERT_TRUE(dbi);
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        for (int i = 0; i < kRecords; ++i)
            ASSERT_TRUE(txn->put(*dbi, bytes("key" + std::to_string(i)), bytes(std::string(100, char('a' + i % 26)))));
        ASSERT_TRUE(txn->commit());
    }
    auto env = Env::open(path, small_map(8 << 20, 8 << 20));
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    for (int i = 0; i < kRecords; ++i) {
        auto v = read->get(*dbi, bytes("key" + std::to_string(i)));
        ASSERT_TRUE(v) << i;
        EXPECT_EQ(text(*v), std::string(100, char('a' + i % 26)));
    }
}

// Writes 4 KiB values until the map is full; returns how many fit.
int fill(Env& env, Dbi dbi, int start, int count, std::error_code& last) {
    int written = 0;
    for (int i = start; i < start + count; ++i) {
        auto txn = WriteTxn::begin(env);
        if (!txn) {
            last = txn.error();
            return written;
        }
        auto p = txn->put(dbi, bytes("k" + std::to_string(i)), std::vector<std::uint8_t>(4096, 7));
        if (!p) {
            last = p.error();
            return written;
        }
        if (auto c = txn->commit(); !c) {
            last = c.error();
            return written;
        }
        ++written;
    }
    return written;
}

TEST(LmdbTest, MapFullIsAnErrorThenGrowthMakesRoom) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(256 << 10, 1 << 20));
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    std::error_code last;
    const int first = fill(**env, *dbi, 0, 1000, last);
    EXPECT_EQ(last, StoreErrc::map_full);
    EXPECT_GT(first, 10);
    ASSERT_TRUE((*env)->grow());
    EXPECT_EQ((*env)->map_bytes(), std::size_t{512} << 10);
    ASSERT_TRUE((*env)->grow());
    EXPECT_EQ((*env)->map_bytes(), std::size_t{1} << 20);
    EXPECT_EQ((*env)->grow().error(), StoreErrc::map_full);  // at the maximum
    last = {};
    const int more = fill(**env, *dbi, first, 1000, last);
    EXPECT_EQ(last, StoreErrc::map_full);
    EXPECT_GT(more, first);
    // Still usable: reads of everything, and a small overwrite that needs no new pages... or fails
    // cleanly with map_full; never a crash or a broken environment.
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    for (int i = 0; i < first + more; ++i) ASSERT_TRUE(read->get(*dbi, bytes("k" + std::to_string(i)))) << i;
    read->reset();
    auto txn = WriteTxn::begin(**env);
    ASSERT_TRUE(txn);
    ASSERT_TRUE(txn->erase(*dbi, bytes("k0")));
    ASSERT_TRUE(txn->commit());
    auto small = WriteTxn::begin(**env);
    ASSERT_TRUE(small);
    ASSERT_TRUE(small->put(*dbi, bytes("small"), bytes("x")));
    EXPECT_TRUE(small->commit());
}

// LMDB reopens with the configured map unless the data already in the file needs more; the lane
// grows it again on demand.
TEST(LmdbTest, FailedPutEndsTheTransaction) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(64 << 10, 64 << 10));
    ASSERT_TRUE(env);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    auto txn = WriteTxn::begin(**env);
    ASSERT_TRUE(txn);
    EXPECT_EQ(txn->put(*dbi, bytes("big"), std::vector<std::uint8_t>(1 << 20, 1)).error(), StoreErrc::map_full);
    EXPECT_FALSE(txn->usable());
    EXPECT_EQ(txn->put(*dbi, bytes("small"), bytes("x")).error(), StoreErrc::failed);
    EXPECT_EQ(txn->commit().error(), StoreErrc::failed);
    auto next = WriteTxn::begin(**env);  // the environment itself is fine
    ASSERT_TRUE(next);
    ASSERT_TRUE(next->put(*dbi, bytes("small"), bytes("x")));
    EXPECT_TRUE(next->commit());
}

TEST(LmdbTest, ReopenAfterGrowthFitsTheData) {
    TempDir dir;
    const std::string path = dir.sub("e");
    {
        auto env = Env::open(path, small_map(256 << 10, 4 << 20));
        ASSERT_TRUE(env);
        ASSERT_TRUE((*env)->grow());
        auto dbi = (*env)->open_dbi("records");
        ASSERT_TRUE(dbi);
        std::error_code last;
        EXPECT_EQ(fill(**env, *dbi, 0, 40, last), 40);  // 40 x 8 KiB of pages: past the initial 256 KiB
        EXPECT_FALSE(last) << last.message();
    }
    auto env = Env::open(path, small_map(256 << 10, 4 << 20));
    ASSERT_TRUE(env) << env.error().message();
    EXPECT_GT((*env)->map_bytes(), std::size_t{256} << 10);
    auto dbi = (*env)->open_dbi("records");
    ASSERT_TRUE(dbi);
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    for (int i = 0; i < 40; ++i) EXPECT_TRUE(read->get(*dbi, bytes("k" + std::to_string(i)))) << i;
}

TEST(LmdbTest, ReopenKeepsDbiHandlesAndEndsOldReaders) {
    TempDir dir;
    auto env = Env::open(dir.sub("e"), small_map(1 << 20, 1 << 20));
    ASSERT_TRUE(env);
    auto a = (*env)->open_dbi("a");
    auto b = (*env)->open_dbi("b");
    ASSERT_TRUE(a && b);
    {
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        ASSERT_TRUE(txn->put(*b, bytes("k"), bytes("v")));
        ASSERT_TRUE(txn->commit());
    }
    auto old = ReadTxn::begin(**env);
    ASSERT_TRUE(old);
    old->reset();  // an idle reader does not hold up the reopen
    ASSERT_TRUE((*env)->reopen());
    EXPECT_EQ(old->renew().error(), StoreErrc::closed);
    auto read = ReadTxn::begin(**env);
    ASSERT_TRUE(read);
    auto v = read->get(*b, bytes("k"));
    ASSERT_TRUE(v);
    EXPECT_EQ(text(*v), "v");
}

TEST(LmdbTest, ErrorsMapToStoreCodes) {
    EXPECT_EQ(lmdb_error(MDB_MAP_FULL), StoreErrc::map_full);
    EXPECT_EQ(lmdb_error(ENOSPC), StoreErrc::disk_full);
    EXPECT_EQ(lmdb_error(EDQUOT), StoreErrc::disk_full);
    EXPECT_EQ(lmdb_error(EIO), StoreErrc::io_error);
    EXPECT_EQ(lmdb_error(MDB_CORRUPTED), StoreErrc::corrupt);
    EXPECT_EQ(lmdb_error(MDB_NOTFOUND), StoreErrc::not_found);
    const std::error_code other = lmdb_error(MDB_BAD_TXN);
    EXPECT_EQ(&other.category(), &lmdb_category());
    EXPECT_EQ(other.message(), mdb_strerror(MDB_BAD_TXN));
}

}  // namespace
}  // namespace vmx::store
