// Pop3Maildrops on a real two-shard engine: the maildrop lock is decided by the mailbox's owner
// shard whether the session runs there or on the other shard (by message), a release that overtakes
// its grant gives the lock back, and QUIT's deletions run on the owner and report once durable.
#include "appliance/pop3/maildrop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>

#include "appliance/daemon/shard_wiring.h"
#include "core/engine.h"
#include "crypto/keyring.h"
#include "store/layout.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"
#include "tests/support/test_net.h"

namespace vmx {
namespace {

using store::testing::TempDir;

constexpr crypto::Scope scope{crypto::ScopeKind::appliance, 0};
constexpr MessageKind step_kind = static_cast<MessageKind>(static_cast<std::uint32_t>(MessageKind::user) + 90);
constexpr std::uint32_t segments = 4;

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
    o.sizing.segments = segments;
    o.sizing.mail_map_mib = 4;
    o.sizing.queue_map_mib = 4;
    o.sizing.temp_map_mib = 4;
    o.sizing.global_map_mib = 4;
    o.sizing.map_mib_max = 64;
    return o;
}

// A user whose mailbox shard 0 owns.
std::uint64_t user_owned_by_shard0() {
    for (std::uint64_t u = 1;; ++u)
        if (store::owner_shard(store::segment_of(u, segments), 2) == 0) return u;
}

enum Step : std::uint64_t { acquire, release, acquire_and_release, append, expunge };

struct Results {
    std::atomic<int> outcomes[8];  // by slot: LockOutcome + 1, 0 while unanswered
    std::atomic<int> appended{0};
    std::atomic<int> expunged{0};  // 1 ok, 2 failed
    std::uint64_t tokens[2][8] = {};
    std::vector<std::uint64_t> ids;  // appended ids (shard 0 thread, read after `appended`)
};

TEST(Pop3MaildropTest, LockAndDeletionsAreDecidedByTheOwnerShard) {
    TempDir dir;
    ASSERT_TRUE(store::StoreLayout::init(dir.path(), small_store()));
    auto layout = store::StoreLayout::open(dir.path(), small_store());
    ASSERT_TRUE(layout);
    auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(0x33));
    ASSERT_TRUE(ring.ensure_scope_key(scope, std::time(nullptr)));
    auto keys = ring.snapshot();
    auto all = store::StoreEnvironments::open(*layout);
    ASSERT_TRUE(all);
    auto handles = store::StoreHandles::open(*all, store::TempOptions{});
    ASSERT_TRUE(handles);
    const std::uint64_t user = user_owned_by_shard0();
    const store::MailboxRef box{user, store::segment_of(user, segments), scope};
    Results r;
    for (auto& o : r.outcomes) o = 0;

    Engine engine(two_shards(), {}, nullptr, [&](Shard& shard, Message& m) {
        ShardContext& c = ShardContext::of(shard);
        if (m.kind == message_reply) return c.calls->on_reply(m);
        if (m.kind >= message_pop3_lock && m.kind <= message_pop3_expunge) return c.maildrops->on_message(m);
        const std::uint64_t slot = m.b;
        auto record = [&r, slot](LockOutcome o) { r.outcomes[slot] = static_cast<int>(o) + 1; };
        switch (static_cast<Step>(m.a)) {
            case acquire: r.tokens[shard.id()][slot] = c.maildrops->acquire(user, record); break;
            case release: c.maildrops->release(user, r.tokens[shard.id()][slot]); break;
            case acquire_and_release: {  // the session leaves before the owner's answer arrives
                const std::uint64_t token = c.maildrops->acquire(user, record);
                c.maildrops->release(user, token);
                break;
            }
            case append:
                for (int i = 0; i < 3; ++i) {
                    c.writes->append(box, std::make_shared<std::string>("Subject: x\r\n\r\nbody\r\n"),
                                     store::AppendOptions{std::time(nullptr), 0}, std::nullopt,
                                     [&r](Result<std::uint64_t> id) {
                                         if (id) r.ids.push_back(*id);
                                         ++r.appended;
                                     });
                }
                break;
            case expunge:
                c.maildrops->expunge(box, {r.ids[0], r.ids[2]}, [&r](bool ok) { r.expunged = ok ? 1 : 2; });
                break;
        }
    });
    engine.set_shard_local([&](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
        ShardStoreOptions options;
        options.sweep_interval_ms = 0;
        auto opened = ShardStore::open(shard, *all, *handles, options, keys);
        if (!opened) return fail(opened.error());
        auto context = std::make_unique<ShardContext>();
        context->store = std::move(*opened);
        context->writes = std::make_unique<MailboxWrites>(*context->store);
        context->calls = std::make_unique<ShardCalls>(shard, 1000);
        context->maildrops = std::make_unique<Pop3Maildrops>(shard, *context->store, *context->writes, *context->calls);
        return std::unique_ptr<ShardLocal>(std::move(context));
    });
    ASSERT_FALSE(engine.bind().has_value());
    ASSERT_TRUE(engine.start().has_value());
    auto run = [&](std::uint32_t shard, Step step, std::uint64_t slot) {
        Message m;
        m.kind = step_kind;
        m.a = step;
        m.b = slot;
        ASSERT_TRUE(engine.control_send(shard, std::move(m)).has_value());
    };
    auto outcome = [&](std::uint64_t slot) {
        EXPECT_TRUE(vmx::testing::wait_until([&] { return r.outcomes[slot].load() != 0; }));
        return static_cast<LockOutcome>(r.outcomes[slot].load() - 1);
    };

    run(1, acquire, 0);  // a session on the other shard: asked by message
    EXPECT_EQ(outcome(0), LockOutcome::granted);
    run(0, acquire, 1);  // a second session, on the owner itself
    EXPECT_EQ(outcome(1), LockOutcome::in_use);
    run(1, acquire, 2);
    EXPECT_EQ(outcome(2), LockOutcome::in_use);
    // A release travels from the session's shard to the owner; an acquire sent meanwhile is told
    // "in use" (a client retries), so these ask again until the release has arrived.
    auto acquire_until_granted = [&](std::uint32_t shard, std::uint64_t slot) {
        run(shard, acquire, slot);
        return vmx::testing::wait_until([&] {
            const int got = r.outcomes[slot].load();
            if (got == static_cast<int>(LockOutcome::granted) + 1) return true;
            if (got != 0) {
                r.outcomes[slot] = 0;
                run(shard, acquire, slot);
            }
            return false;
        });
    };
    run(1, release, 0);
    EXPECT_TRUE(acquire_until_granted(0, 3));
    run(0, release, 3);
    run(1, acquire_and_release, 4);  // its grant comes back to a session that has gone
    EXPECT_TRUE(acquire_until_granted(0, 5));
    EXPECT_EQ(r.outcomes[4].load(), 0);  // nobody is told about a lock it let go
    run(0, release, 5);

    run(0, append, 0);
    ASSERT_TRUE(vmx::testing::wait_until([&] { return r.appended.load() == 3; }));
    ASSERT_EQ(r.ids.size(), 3u);
    run(1, expunge, 0);  // QUIT on the other shard: the owner moves them to trash
    ASSERT_TRUE(vmx::testing::wait_until([&] { return r.expunged.load() != 0; }));
    EXPECT_EQ(r.expunged.load(), 1);
    {
        auto txn = store::ReadTxn::begin(*all->env(box.segment, store::SegmentKind::mail));
        ASSERT_TRUE(txn);
        auto live = store::list_messages(*txn, handles->segment(box.segment).mailboxes, *keys, box);
        ASSERT_TRUE(live);
        ASSERT_EQ(live->size(), 1u);
        EXPECT_EQ(live->front().id, r.ids[1]);
    }
    engine.request_stop();
    engine.join();
}

}  // namespace
}  // namespace vmx
