// ShardStore on a real engine: each shard opens the segments it owns, writes through its lane get
// their outcome on the shard thread once durable, and the periodic sweep removes expired temp
// records (lane tasks) while live ones stay.
#include "appliance/mailstore/shard_store.h"

#include "appliance/daemon/shard_wiring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <thread>

#include "core/engine.h"
#include "crypto/keyring.h"
#include "store/layout.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"
#include "tests/support/test_net.h"

namespace vmx {
namespace {

using store::testing::bytes;
using store::testing::TempDir;

constexpr crypto::Scope appliance_scope{crypto::ScopeKind::appliance, 0};

EngineConfig two_shards() {
    EngineConfig c;
    c.shards = 2;
    c.recv_buffers = 16;
    c.ring_entries = 64;
    c.pin_threads = false;
    return c;
}

store::StoreOptions small_store() {
    store::StoreOptions o;
    o.sizing.segments = 4;
    o.sizing.mail_map_mib = 4;
    o.sizing.queue_map_mib = 4;
    o.sizing.temp_map_mib = 4;
    o.sizing.global_map_mib = 4;
    o.sizing.map_mib_max = 64;
    return o;
}

struct Fixture {
    Fixture() {
        VMX_ASSERT(store::StoreLayout::init(dir.path(), small_store()));
        auto l = store::StoreLayout::open(dir.path(), small_store());
        VMX_ASSERT(l);
        layout = std::make_unique<store::StoreLayout>(std::move(*l));
        auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(0x21));
        VMX_ASSERT(ring.ensure_scope_key(appliance_scope, now()));
        keys = ring.snapshot();
    }
    std::unique_ptr<store::StoreEnvironments> open_all() {
        auto opened = store::StoreEnvironments::open(*layout);
        VMX_ASSERT(opened);
        return std::make_unique<store::StoreEnvironments>(std::move(*opened));
    }
    std::unique_ptr<store::StoreHandles> open_handles(const store::StoreEnvironments& all) {
        auto opened = store::StoreHandles::open(all, store::TempOptions{});
        VMX_ASSERT(opened);
        return std::make_unique<store::StoreHandles>(std::move(*opened));
    }
    static std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

    // A temp record in `segment`, written directly (no daemon running): returns its id.
    std::uint64_t put_temp(std::uint32_t segment, std::int64_t expires) {
        auto env = store::Env::open(layout->path(store::SegmentKind::temp, segment),
                                    layout->env_options(store::SegmentKind::temp));
        VMX_ASSERT(env);
        auto temp = store::TempStore::open(**env, segment);
        VMX_ASSERT(temp);
        auto txn = store::WriteTxn::begin(**env);
        VMX_ASSERT(txn);
        auto ref = temp->put(*txn, *keys, appliance_scope, 0, bytes("spool"), now() - 10, expires);
        VMX_ASSERT(ref);
        VMX_ASSERT(txn->commit());
        return ref->id;
    }
    bool temp_present(std::uint32_t segment, std::uint64_t id) {
        auto env = store::Env::open(layout->path(store::SegmentKind::temp, segment),
                                    layout->env_options(store::SegmentKind::temp));
        VMX_ASSERT(env);
        auto temp = store::TempStore::open(**env, segment);
        VMX_ASSERT(temp);
        auto txn = store::ReadTxn::begin(**env);
        VMX_ASSERT(txn);
        // Look far in the past, so an expired record still counts as present until swept.
        return temp->get(*txn, *keys, 0, id, 0).has_value();
    }

    TempDir dir;
    std::unique_ptr<store::StoreLayout> layout;
    std::shared_ptr<const crypto::KeySet> keys;
};

TEST(ShardStoreTest, PeriodicSweepRemovesExpiredTempRecordsOnEveryShard) {
    Fixture f;
    std::vector<std::uint64_t> expired, live;
    for (std::uint32_t segment = 0; segment < 4; ++segment) {
        expired.push_back(f.put_temp(segment, Fixture::now() - 5));
        live.push_back(f.put_temp(segment, Fixture::now() + 3600));
    }
    ShardStoreOptions options;
    options.sweep_interval_ms = 20;
    auto all = f.open_all();
    auto handles = f.open_handles(*all);
    Engine engine(two_shards(), {}, nullptr);
    engine.set_shard_local([&](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
        auto opened = ShardStore::open(shard, *all, *handles, options, f.keys);
        if (!opened) return fail(opened.error());
        auto context = std::make_unique<ShardContext>();
        context->store = std::move(*opened);
        return std::unique_ptr<ShardLocal>(std::move(context));
    });
    ASSERT_FALSE(engine.bind().has_value());
    ASSERT_TRUE(engine.start().has_value());
    auto swept = [&] {
        std::uint64_t n = 0;
        for (std::uint32_t s = 0; s < 2; ++s)
            n += ShardContext::of(engine.shard(s)).store->stats().temp_swept.load();
        return n;
    };
    EXPECT_TRUE(vmx::testing::wait_until([&] { return swept() == 4; }));
    engine.request_stop();
    engine.join();
    handles.reset();
    all.reset();  // one open per environment per process: close before looking directly
    for (std::uint32_t segment = 0; segment < 4; ++segment) {
        EXPECT_FALSE(f.temp_present(segment, expired[segment])) << "segment " << segment;
        EXPECT_TRUE(f.temp_present(segment, live[segment])) << "segment " << segment;
    }
}

TEST(ShardStoreTest, WritesReportDurabilityOnTheShardThread) {
    Fixture f;
    constexpr int writes = 200;
    std::atomic<int> durable{0};
    std::atomic<int> wrong_thread{0};
    ShardStoreOptions options;
    options.sweep_interval_ms = 0;
    auto all = f.open_all();
    auto handles = f.open_handles(*all);
    Engine engine(two_shards(), {}, nullptr, [&](Shard& shard, Message&) {
        ShardStore* store = ShardContext::of(shard).store.get();
        const std::uint32_t segment = store->envs().segments().front();
        const auto env = store->envs().lane_index(segment, store::SegmentKind::smtp_in);
        // Opening a database takes LMDB's write lock, so it is safe beside the lane; the product
        // opens its databases before the lane starts.
        auto dbi = store->envs().env(segment, store::SegmentKind::smtp_in)->open_dbi("probe");
        ASSERT_TRUE(dbi);
        const auto shard_thread = std::this_thread::get_id();
        for (int i = 0; i < writes; ++i) {
            store::WriteRequest r;
            r.env = *env;
            r.ops.push_back({store::WriteOpKind::put, *dbi, bytes("k" + std::to_string(i)), bytes("sealed elsewhere")});
            ASSERT_TRUE(store->submit(std::move(r), [&, shard_thread](const store::WriteResult& w) {
                if (std::this_thread::get_id() != shard_thread) ++wrong_thread;
                if (!w.error) ++durable;
            }));
        }
    });
    engine.set_shard_local([&](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
        auto opened = ShardStore::open(shard, *all, *handles, options, f.keys);
        if (!opened) return fail(opened.error());
        auto context = std::make_unique<ShardContext>();
        context->store = std::move(*opened);
        return std::unique_ptr<ShardLocal>(std::move(context));
    });
    ASSERT_FALSE(engine.bind().has_value());
    ASSERT_TRUE(engine.start().has_value());
    Message m;
    m.kind = MessageKind::user;
    ASSERT_TRUE(engine.control_send(1, std::move(m)).has_value());
    EXPECT_TRUE(vmx::testing::wait_until([&] { return durable.load() == writes; }));
    EXPECT_EQ(wrong_thread.load(), 0);
    const auto& lane = ShardContext::of(engine.shard(1)).store->lane_stats();
    EXPECT_LT(lane.transactions.load(), static_cast<std::uint64_t>(writes)) << "writes queued together share commits";
    engine.request_stop();
    engine.join();
}

}  // namespace
}  // namespace vmx
