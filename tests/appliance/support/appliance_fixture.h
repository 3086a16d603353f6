// Test fixtures for the appliance's rooms on real shards and a real store in a temporary folder:
// TestTenant is the store (2 segments) with a directory holding one organisation and domain and the
// users a test adds; TestEngine runs shards with a ShardContext per shard (the daemon's ShardBuilder,
// or the test's own), optional listeners, and a way to run a function on a shard's own thread.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "appliance/auth/auth_workers.h"
#include "appliance/daemon/shard_wiring.h"
#include "appliance/directory/account.h"
#include "appliance/directory/directory.h"
#include "core/engine.h"
#include "core/socket_address.h"
#include "store/layout.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"
#include "tests/support/test_net.h"

namespace vmx::testing {

inline constexpr std::uint32_t kTestSegments = 2;  // with two shards: segment s is owned by shard s
inline constexpr std::int64_t kTestStart = 1'800'000'000;
inline constexpr std::uint64_t kTestAccountKeys = 256;  // users the fixture can add

inline bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
}

// A store of kTestSegments segments in `dir`, initialised and opened (the keys' and the directory's
// tests that need no environments beyond the layout).
inline store::StoreLayout test_layout(const std::string& dir) {
    store::StoreOptions o;
    o.sizing.segments = kTestSegments;
    VMX_ASSERT(store::StoreLayout::init(dir, o));
    auto l = store::StoreLayout::open(dir, o);
    VMX_ASSERT(l);
    return std::move(*l);
}

struct TestTenant {
    TestTenant() {
        store::StoreOptions o;
        o.sizing.segments = kTestSegments;
        o.sizing.mail_map_mib = 8;
        o.sizing.queue_map_mib = 4;
        o.sizing.temp_map_mib = 4;
        o.sizing.global_map_mib = 4;
        o.sizing.map_mib_max = 64;
        VMX_ASSERT(store::StoreLayout::init(dir.path(), o));
        auto l = store::StoreLayout::open(dir.path(), o);
        VMX_ASSERT(l);
        layout = std::make_unique<store::StoreLayout>(std::move(*l));
        auto all = store::StoreEnvironments::open(*layout);
        VMX_ASSERT(all);
        envs = std::make_unique<store::StoreEnvironments>(std::move(*all));
        auto h = store::StoreHandles::open(*envs, store::TempOptions{});
        VMX_ASSERT(h);
        handles = std::make_unique<store::StoreHandles>(std::move(*h));
        auto ring = crypto::Keyring::create(fixed_master_key(0x61));
        VMX_ASSERT(ring.ensure_scope_key(appliance_scope, kTestStart));
        VMX_ASSERT(ring.ensure_scope_key({crypto::ScopeKind::shared, 0}, kTestStart));
        // Every user seals under an account key made when the user is added; the fixture's users
        // take ids from 1 up, so their keys are made ahead and every holder of `keys` sees them.
        for (std::uint64_t id = 1; id <= kTestAccountKeys; ++id)
            VMX_ASSERT(ring.ensure_account_key(id, {crypto::ScopeKind::shared, 0}, kTestStart));
        keys = ring.snapshot();
        auto denv = store::Env::open(dir.sub("directory"), layout->env_options(store::GlobalKind::directory));
        VMX_ASSERT(denv);
        directory_env = std::move(*denv);
        auto index_key = Directory::derive_index_key(fixed_master_key(0x61).material.view());
        auto d = Directory::open(*directory_env, std::move(*index_key));
        VMX_ASSERT(d);
        directory = std::make_unique<Directory>(std::move(*d));
        VMX_ASSERT(directory->add_org(*keys, "Org", crypto::Plan::starter, kTestStart));
        VMX_ASSERT(directory->add_domain(*keys, "example.test", "Org", kTestStart));
    }

    std::uint64_t add_user(const std::string& address, std::string password_hash = {}, std::uint64_t quota_bytes = 0) {
        auto u = directory->add_user(*keys, address, std::move(password_hash), quota_bytes, kTestStart);
        VMX_ASSERT(u);
        VMX_ASSERT(u->id <= kTestAccountKeys);
        return u->id;
    }
    // A new user whose mailbox lives in `segment` (so on shard `segment`).
    std::uint64_t add_user_on(std::uint32_t segment, const std::string& local_part) {
        for (int i = 0;; ++i) {
            const std::uint64_t id = add_user(local_part + std::to_string(i) + "@example.test");
            if (store::segment_of(id, kTestSegments) == segment) return id;
        }
    }

    std::string address_of(std::uint64_t user) {
        auto txn = store::ReadTxn::begin(*directory_env);
        VMX_ASSERT(txn);
        auto u = directory->user(*txn, *keys, user);
        VMX_ASSERT(u);
        return u->address;
    }

    std::vector<store::MessageInfo> messages_of(std::uint64_t user) {
        const std::uint32_t segment = store::segment_of(user, kTestSegments);
        auto txn = store::ReadTxn::begin(*envs->env(segment, store::SegmentKind::mail));
        VMX_ASSERT(txn);
        const store::MailboxRef box{user, segment, crypto::account_scope(user)};
        auto listed = store::list_messages(*txn, handles->segment(segment).mailboxes, *keys, box);
        return listed ? *listed : std::vector<store::MessageInfo>{};
    }
    std::string body_of(std::uint64_t user, std::uint64_t message_id) {
        const std::uint32_t segment = store::segment_of(user, kTestSegments);
        auto txn = store::ReadTxn::begin(*envs->env(segment, store::SegmentKind::mail));
        VMX_ASSERT(txn);
        const store::MailboxRef box{user, segment, crypto::account_scope(user)};
        auto reader = store::BodyReader::open(*txn, handles->segment(segment).mailboxes, *keys, box, message_id);
        VMX_ASSERT(reader);
        std::string out;
        for (;;) {
            auto chunk = reader->next(*txn, *keys);
            VMX_ASSERT(chunk);
            if (!*chunk) return out;
            out.append((*chunk)->begin(), (*chunk)->end());
        }
    }
    std::size_t markers_in(std::uint32_t segment) {
        auto txn = store::ReadTxn::begin(*envs->env(segment, store::SegmentKind::mail));
        VMX_ASSERT(txn);
        auto page = store::list_markers(*txn, handles->segment(segment).markers, std::nullopt, 100000);
        VMX_ASSERT(page);
        return page->markers.size();
    }

    store::testing::TempDir dir;
    std::unique_ptr<store::StoreLayout> layout;
    std::unique_ptr<store::StoreEnvironments> envs;
    std::unique_ptr<store::StoreHandles> handles;
    std::shared_ptr<const crypto::KeySet> keys;
    std::unique_ptr<store::Env> directory_env;
    std::unique_ptr<Directory> directory;
};

// A function the test runs on a shard's own thread, under a kind no product code sends.
struct RunOnShard final : MessagePayload {
    std::function<void(Shard&)> fn;
};
inline constexpr MessageKind kRunOnShard = static_cast<MessageKind>(0xFFFF);

class TestEngine {
public:
    TestEngine(ShardLocalFactory make_local, std::vector<ListenerSpec> listeners = {}) {
        EngineConfig c;
        c.shards = 2;
        c.recv_buffers = 16;
        c.ring_entries = 64;
        c.pin_threads = false;
        engine_ = std::make_unique<Engine>(c, std::move(listeners), nullptr, [](Shard& shard, Message& m) {
            if (m.kind == kRunOnShard && m.payload) return static_cast<RunOnShard*>(m.payload.get())->fn(shard);
            on_shard_message(shard, m);
        });
        engine_->set_shard_local(std::move(make_local));
        VMX_ASSERT(!engine_->bind().has_value());
        VMX_ASSERT(engine_->start().has_value());
    }
    ~TestEngine() {
        engine_->request_stop();
        engine_->join();
    }

    // Runs fn on shard `s` and waits until it returned.
    void on_shard(std::uint32_t s, std::function<void(ShardContext&)> fn) {
        std::promise<void> ran;
        auto payload = std::make_unique<RunOnShard>();
        payload->fn = [&](Shard& shard) {
            fn(ShardContext::of(shard));
            ran.set_value();
        };
        Message m;
        m.kind = kRunOnShard;
        m.payload = std::move(payload);
        VMX_ASSERT(engine_->control_send(s, std::move(m)).has_value());
        VMX_ASSERT(ran.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
    }
    ShardContext& context(std::uint32_t s) { return ShardContext::of(engine_->shard(s)); }
    // Sends a function to shard `s` without waiting (the caller waits as it needs).
    void send(std::uint32_t s, std::unique_ptr<RunOnShard> payload) {
        Message m;
        m.kind = kRunOnShard;
        m.payload = std::move(payload);
        VMX_ASSERT(engine_->control_send(s, std::move(m)).has_value());
    }

private:
    std::unique_ptr<Engine> engine_;
};

// Auth workers with the cheapest Argon2 (tests hash and check many passwords) and no throttle delay.
inline std::unique_ptr<AuthWorkers> cheap_auth_workers() {
    AuthWorkerOptions auth;
    auth.argon2 = crypto::Argon2Params{8, 1, 1};
    auth.throttle.delay_base_ms = 0;
    auto workers = std::make_unique<AuthWorkers>(auth, 2);
    VMX_ASSERT(workers->start());
    return workers;
}

// Mail-authentication workers for the shards of every test in the process: one thread, the MX's
// checks off (the MX shell's tests do not exercise them; tests/appliance/mailauth does), signing on
// but without keys until a test hands some over.
inline MailAuthWorkers& test_mailauth_workers() {
    static std::unique_ptr<MailAuthWorkers> workers = [] {
        MailAuthOptions options;
        options.threads = 1;
        options.checks.dmarc = false;
        auto w = std::make_unique<MailAuthWorkers>(options, 64);
        VMX_ASSERT(w->start());
        return w;
    }();
    return *workers;
}

// Shards built as the daemon builds them (its ShardBuilder) over the tenant, serving `listeners`;
// with `readers`, their reads go to store readers as on a store shared by nodes.
inline std::unique_ptr<TestEngine> daemon_shards(TestTenant& tenant, AuthWorkers& workers,
                                                 std::vector<ListenerSpec> listeners, OutboundOptions outbound = {},
                                                 StoreReaders* readers = nullptr) {
    ShardStoreOptions store_options;
    store_options.sweep_interval_ms = 0;
    return std::make_unique<TestEngine>(
        ShardBuilder{*tenant.envs, *tenant.handles, store_options, tenant.keys, *tenant.directory, workers,
                     test_mailauth_workers(), /*mx_checks=*/false, std::int64_t{14} * 86400,
                     MailboxWritesOptions{0}, DeliveryOptions{}, std::move(outbound), BounceOptions{"localhost", 65536, {}},
                     MarkerCleanupOptions{}, 1000, nullptr, readers},
        std::move(listeners));
}

// A listener on a free loopback port.
inline ListenerSpec listener_on(std::uint16_t port, std::string name, ServiceFactory factory) {
    return {std::move(name), *parse_socket_address("127.0.0.1:" + std::to_string(port)), std::move(factory)};
}

}  // namespace vmx::testing
