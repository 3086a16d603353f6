// Temporary records: expiry (invisible before the sweep), the bounded resumable sweep, per-put
// expiry, erase, reopen, tamper and moved-record detection, lane ops, kinds and an owner's listing.
#include "tests/support/test_keys.h"
#include "store/temp_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "crypto/errc.h"
#include "store/errc.h"
#include "store/record_key.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;
using testing::text;

constexpr std::int64_t t0 = 1'790'000'000;
constexpr crypto::Scope user_scope{crypto::ScopeKind::user, 42};
constexpr crypto::Scope appliance_scope{crypto::ScopeKind::appliance, 0};

std::shared_ptr<const crypto::KeySet> test_keys() {
    auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(0x10));
    VMX_ASSERT(ring.ensure_scope_key(user_scope, t0));
    VMX_ASSERT(ring.ensure_scope_key(appliance_scope, t0));
    return ring.snapshot();
}

struct TempFixture {
    explicit TempFixture(const TempDir& d) : dir(d) { open(); }
    void open() {
        EnvOptions o;
        o.map_bytes = std::size_t{16} << 20;
        o.map_bytes_max = std::size_t{16} << 20;
        auto e = testing::open_test_env(dir.sub("temp"), o);
        VMX_ASSERT(e);
        env = std::move(*e);
        auto s = TempStore::open(*env, 3);
        VMX_ASSERT(s);
        store = std::make_unique<TempStore>(std::move(*s));
    }
    void close() {
        store.reset();
        env.reset();
    }
    TempRecordRef put(std::uint64_t owner, const std::string& data, std::int64_t now,
                      std::optional<std::int64_t> expires = std::nullopt, std::uint8_t kind = 0) {
        auto txn = WriteTxn::begin(*env);
        VMX_ASSERT(txn);
        auto ref = store->put(*txn, *keys, owner ? user_scope : appliance_scope, owner, bytes(data), now, expires, kind);
        VMX_ASSERT(ref);
        VMX_ASSERT(txn->commit());
        return *ref;
    }
    Result<std::vector<std::uint8_t>> get(std::uint64_t owner, std::uint64_t id, std::int64_t now) {
        auto txn = ReadTxn::begin(*env);
        VMX_ASSERT(txn);
        return store->get(*txn, *keys, owner, id, now);
    }
    std::size_t sweep(std::int64_t now, std::size_t max) {
        auto txn = WriteTxn::begin(*env);
        VMX_ASSERT(txn);
        auto n = store->sweep(*txn, now, max);
        VMX_ASSERT(n);
        VMX_ASSERT(txn->commit());
        return *n;
    }
    const TempDir& dir;
    std::shared_ptr<const crypto::KeySet> keys = test_keys();
    std::unique_ptr<Env> env;
    std::unique_ptr<TempStore> store;
};

TEST(TempStoreTest, DefaultExpiryIsADayAndExpiredIsInvisibleBeforeTheSweep) {
    TempDir dir;
    TempFixture f(dir);
    const auto ref = f.put(42, "spool data T9", t0);
    EXPECT_EQ(ref.expires_unix, t0 + 24 * 3600);
    auto live = f.get(42, ref.id, t0 + 24 * 3600 - 1);
    ASSERT_TRUE(live) << live.error().message();
    EXPECT_EQ(text(*live), "spool data T9");
    EXPECT_EQ(f.get(42, ref.id, t0 + 24 * 3600).error(), StoreErrc::not_found);  // no sweep has run
    EXPECT_EQ(f.get(43, ref.id, t0).error(), StoreErrc::not_found);              // another owner
    EXPECT_EQ(f.get(42, ref.id + 1, t0).error(), StoreErrc::not_found);
}

TEST(TempStoreTest, SweepRemovesOnlyExpiredAndResumesInBoundedBatches) {
    TempDir dir;
    TempFixture f(dir);
    std::vector<TempRecordRef> short_lived;
    for (int i = 0; i < 7; ++i) short_lived.push_back(f.put(i % 2 ? 42 : 0, "short " + std::to_string(i), t0, t0 + 60 + i));
    const auto long_lived = f.put(42, "long", t0, t0 + 3600);
    const auto default_ttl = f.put(0, "default", t0);

    EXPECT_EQ(f.sweep(t0 + 59, 100), 0u);  // nothing expired yet
    EXPECT_EQ(f.sweep(t0 + 100, 3), 3u);   // bounded
    EXPECT_EQ(f.sweep(t0 + 100, 3), 3u);   // resumes
    EXPECT_EQ(f.sweep(t0 + 100, 3), 1u);   // and finishes
    EXPECT_EQ(f.sweep(t0 + 100, 3), 0u);
    // Gone even for a reader whose clock is earlier; the others are untouched.
    for (const auto& r : short_lived) EXPECT_EQ(f.get(r.owner, r.id, t0).error(), StoreErrc::not_found);
    auto a = f.get(42, long_lived.id, t0 + 100);
    ASSERT_TRUE(a);
    EXPECT_EQ(text(*a), "long");
    auto b = f.get(0, default_ttl.id, t0 + 100);
    ASSERT_TRUE(b);
    EXPECT_EQ(text(*b), "default");
    EXPECT_EQ(f.sweep(t0 + 24 * 3600, 10), 2u);
}

TEST(TempStoreTest, ReopenKeepsRecordsAndIds) {
    TempDir dir;
    TempFixture f(dir);
    const auto a = f.put(42, "first", t0);
    const auto b = f.put(42, "second", t0, t0 + 10);
    f.close();
    f.open();
    EXPECT_EQ(f.store->next_id(), b.id + 1);
    auto got = f.get(42, a.id, t0 + 1);
    ASSERT_TRUE(got);
    EXPECT_EQ(text(*got), "first");
    const auto c = f.put(42, "third", t0);
    EXPECT_GT(c.id, b.id);
    EXPECT_EQ(f.sweep(t0 + 10, 10), 1u);  // the expiry index survived too
    EXPECT_EQ(f.get(42, b.id, t0).error(), StoreErrc::not_found);
}

TEST(TempStoreTest, EraseRemovesRecordAndIndex) {
    TempDir dir;
    TempFixture f(dir);
    const auto a = f.put(42, "to erase", t0, t0 + 5);
    {
        auto txn = WriteTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        auto erased = f.store->erase(*txn, 42, a.id);
        ASSERT_TRUE(erased);
        EXPECT_TRUE(*erased);
        auto again = f.store->erase(*txn, 42, a.id);
        ASSERT_TRUE(again);
        EXPECT_FALSE(*again);
        ASSERT_TRUE(txn->commit());
    }
    EXPECT_EQ(f.get(42, a.id, t0).error(), StoreErrc::not_found);
    EXPECT_EQ(f.sweep(t0 + 10, 10), 0u);
}

TEST(TempStoreTest, TamperedMovedOrReExpiredRecordFails) {
    TempDir dir;
    TempFixture f(dir);
    const auto a = f.put(42, "owner 42 data", t0, t0 + 100);
    const auto key_of = [](std::uint64_t owner, std::uint64_t id, std::uint64_t expiry) {
        auto rk = encode_record_key(RecordKey{owner, record_of(id, 0)});
        std::vector<std::uint8_t> k(rk.begin(), rk.end());
        for (int i = 0; i < 8; ++i) k.push_back(static_cast<std::uint8_t>(expiry >> (56 - 8 * i)));
        return k;
    };
    std::vector<std::uint8_t> sealed;
    {
        auto txn = WriteTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        auto v = txn->get(f.store->records(), key_of(42, a.id, t0 + 100));
        ASSERT_TRUE(v);
        sealed.assign(v->begin(), v->end());
        // Moved to another owner, and the same record with its expiry pushed out in the key.
        ASSERT_TRUE(txn->put(f.store->records(), key_of(43, a.id, t0 + 100), sealed));
        ASSERT_TRUE(txn->erase(f.store->records(), key_of(42, a.id, t0 + 100)));
        ASSERT_TRUE(txn->put(f.store->records(), key_of(42, a.id, t0 + 999999), sealed));
        ASSERT_TRUE(txn->commit());
    }
    EXPECT_EQ(f.get(43, a.id, t0).error(), crypto::CryptoErrc::authentication_failed);
    EXPECT_EQ(f.get(42, a.id, t0 + 500).error(), StoreErrc::corrupt);
    {
        auto txn = WriteTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        sealed[sealed.size() - 1] ^= 0x80;
        ASSERT_TRUE(txn->put(f.store->records(), key_of(42, a.id, t0 + 999999), sealed));
        ASSERT_TRUE(txn->commit());
    }
    EXPECT_EQ(f.get(42, a.id, t0).error(), crypto::CryptoErrc::authentication_failed);
}

TEST(TempStoreTest, LaneOpsAndLimits) {
    TempDir dir;
    TempFixture f(dir);
    Lane lane({f.env.get()}, LaneOptions{});
    ASSERT_TRUE(lane.start());
    auto prepared = f.store->prepare_put(*f.keys, user_scope, 42, bytes("through the lane"), t0);
    ASSERT_TRUE(prepared);
    WriteRequest request;
    request.ops = std::move(prepared->ops);
    request.token = 1;
    ASSERT_TRUE(lane.submit(request));
    std::vector<WriteResult> got;
    for (int i = 0; i < 500 && got.empty(); ++i) {
        lane.drain_results([&](WriteResult&& w) { got.push_back(w); });
        if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_FALSE(got[0].error) << got[0].error.message();
    auto v = f.get(42, prepared->ref.id, t0);
    ASSERT_TRUE(v);
    EXPECT_EQ(text(*v), "through the lane");
    EXPECT_EQ(f.store->prepare_put(*f.keys, user_scope, 42, bytes("x"), t0, -1).error(), StoreErrc::invalid_request);
}

TEST(TempStoreTest, KindsLabelRecordsInTheirKeysAndAnOwnerIsListedInIdOrder) {
    TempDir dir;
    TempFixture f(dir);
    const auto plain = f.put(42, "plain", t0);
    const auto part = f.put(42, "a part", t0, t0 + 100, 2);
    const auto other = f.put(43, "not 42's", t0, std::nullopt, 1);
    const auto head = f.put(42, "a head", t0, t0 + 50, 1);
    EXPECT_EQ(part.kind, 2u);
    // get and erase by id alone, whatever the kind.
    auto got = f.get(42, part.id, t0);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(text(*got), "a part");
    EXPECT_EQ(f.get(42, other.id, t0).error(), StoreErrc::not_found) << "another owner's id";
    {
        auto txn = ReadTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        auto listed = f.store->list(*txn, 42, 0, 10);
        ASSERT_TRUE(listed);
        ASSERT_EQ(listed->size(), 3u);
        EXPECT_EQ((*listed)[0].id, plain.id);
        EXPECT_EQ((*listed)[0].kind, 0u);
        EXPECT_EQ((*listed)[1].id, part.id);
        EXPECT_EQ((*listed)[1].kind, 2u);
        EXPECT_EQ((*listed)[1].expires_unix, t0 + 100);
        EXPECT_EQ((*listed)[2].id, head.id);
        EXPECT_EQ((*listed)[2].kind, 1u);
        auto page = f.store->list(*txn, 42, part.id, 1);  // from an id, bounded
        ASSERT_TRUE(page);
        ASSERT_EQ(page->size(), 1u);
        EXPECT_EQ((*page)[0].id, part.id);
        auto none = f.store->list(*txn, 44, 0, 10);
        ASSERT_TRUE(none);
        EXPECT_TRUE(none->empty());
    }
    {
        auto txn = WriteTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        auto erased = f.store->erase(*txn, 42, part.id);
        ASSERT_TRUE(erased);
        EXPECT_TRUE(*erased);
        ASSERT_TRUE(txn->commit());
    }
    EXPECT_EQ(f.get(42, part.id, t0).error(), StoreErrc::not_found);
    EXPECT_EQ(f.sweep(t0 + 200, 10), 1u) << "the part's expiry entry went with it; the head's is swept";
    EXPECT_EQ(f.store->prepare_put(*f.keys, user_scope, 42, bytes("x"), t0, std::nullopt, temp_kinds).error(),
              StoreErrc::invalid_request);
}

TEST(TempStoreTest, AChangedKindInTheKeyDoesNotOpen) {
    TempDir dir;
    TempFixture f(dir);
    const auto a = f.put(42, "a part", t0, t0 + 100, 2);
    const auto key_of = [](std::uint8_t kind) {
        auto rk = encode_record_key(RecordKey{42, record_of(1, kind)});
        std::vector<std::uint8_t> k(rk.begin(), rk.end());
        for (int i = 0; i < 8; ++i) k.push_back(static_cast<std::uint8_t>((t0 + 100) >> (56 - 8 * i)));
        return k;
    };
    ASSERT_EQ(a.id, 1u);
    {
        auto txn = WriteTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        auto v = txn->get(f.store->records(), key_of(2));
        ASSERT_TRUE(v);
        const std::vector<std::uint8_t> sealed(v->begin(), v->end());
        ASSERT_TRUE(txn->erase(f.store->records(), key_of(2)));
        ASSERT_TRUE(txn->put(f.store->records(), key_of(1), sealed));  // relabelled as a manifest
        ASSERT_TRUE(txn->commit());
    }
    EXPECT_EQ(f.get(42, a.id, t0).error(), crypto::CryptoErrc::authentication_failed);
}

}  // namespace
}  // namespace vmx::store
