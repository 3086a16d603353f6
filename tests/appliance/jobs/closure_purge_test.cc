// Account closure in the directory and the closure purge's steps, on a real directory, key store
// and login history in a temporary folder, with the mailbox half (the owner shard's) played by a
// fake that counts messages down and can stop as a SIGKILL would: close and reopen give everything
// back; a purge removes the record, its index entry, its login history and its own key; a purge
// stopped mid-way (in the mailbox, or between the record and the key) finishes on the next pass.
#include "appliance/jobs/closure_purge.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <variant>

#include "appliance/directory/directory_view.h"
#include "appliance/keys/key_setup.h"
#include "store/layout.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"

namespace vmx {
namespace {

constexpr std::int64_t t0 = 1'790'000'000;
constexpr std::int64_t day = 86400;

struct ClosureFixture {
    ClosureFixture() {
        store::StoreOptions o;
        o.sizing.segments = 4;
        o.sizing.mail_map_mib = 4;
        o.sizing.queue_map_mib = 4;
        o.sizing.temp_map_mib = 4;
        o.sizing.global_map_mib = 4;
        o.sizing.map_mib_max = 16;
        VMX_ASSERT(store::StoreLayout::init(dir.path(), o));
        auto l = store::StoreLayout::open(dir.path(), o);
        VMX_ASSERT(l);
        layout = std::make_unique<store::StoreLayout>(std::move(*l));
        auto opened = open_keys(*layout, testing::fixed_master_key(0x71), "test master key");
        VMX_ASSERT(std::holds_alternative<OpenedKeys>(opened));
        keys = std::make_unique<KeyService>(std::move(std::get<OpenedKeys>(opened)));
        VMX_ASSERT(keys->ensure(appliance_scope, t0));
        VMX_ASSERT(keys->ensure({crypto::ScopeKind::shared, 0}, t0));
        auto env = store::Env::open(dir.sub("dir"), layout->env_options(store::GlobalKind::directory));
        VMX_ASSERT(env);
        directory_env = std::move(*env);
        auto index_key = Directory::derive_index_key(testing::fixed_master_key(0x71).material.view());
        VMX_ASSERT(index_key);
        auto d = Directory::open(*directory_env, std::move(*index_key));
        VMX_ASSERT(d);
        directory = std::make_unique<Directory>(std::move(*d));
        auto h = LoginHistory::open(*directory_env);
        VMX_ASSERT(h);
        history = std::make_unique<LoginHistory>(std::move(*h));
        auto g = SupportGrants::open(*directory_env);
        VMX_ASSERT(g);
        grants = std::make_unique<SupportGrants>(std::move(*g));
        VMX_ASSERT(directory->add_org(k(), "Big", crypto::Plan::ultimate, t0));
        VMX_ASSERT(directory->add_domain(k(), "big.test", "Big", t0));
        VMX_ASSERT(directory->add_org(k(), "Small", crypto::Plan::starter, t0));
        VMX_ASSERT(directory->add_domain(k(), "small.test", "Small", t0));
    }
    const crypto::KeySet& k() const { return *keys->snapshot(); }

    User add(const std::string& address) {
        auto u = directory->add_user(k(), address, "hash", 0, t0);
        VMX_ASSERT(u);
        auto view = DirectoryView::open(*directory, keys->snapshot());
        auto org = view->org(u->org_id);
        VMX_ASSERT(org);
        const KeyService::AccountScope account{u->id, crypto::scope_for(org->plan, org->id, u->id)};
        VMX_ASSERT(keys->ensure_accounts({&account, 1}, t0));
        SupportGrant grant;
        grant.user_id = u->id;
        grant.reason = "ticket 1";
        grant.granted_unix = t0;
        grant.expires_unix = t0 + 100 * day;  // still open when the purge comes
        VMX_ASSERT(grants->put(k(), grant));
        mailbox[u->id] = 10;  // ten messages, erased three a step
        LoginEvent e;
        e.user_id = u->id;
        e.time_unix = t0;
        e.protocol = "pop3";
        e.client_ip = "192.0.2.1";
        VMX_ASSERT(history->append(k(), {e, e}));
        return *u;
    }
    Result<User> find(std::string_view address) {
        auto view = DirectoryView::open(*directory, keys->snapshot());
        VMX_ASSERT(view);
        return view->find_user(address);
    }
    std::size_t logins_of(std::uint64_t id) {
        auto view = DirectoryView::open(*directory, keys->snapshot());
        auto events = view->logins(*history, id, 0, false, 100);
        VMX_ASSERT(events);
        return events->size();
    }
    bool key_live(const crypto::Scope& scope) {
        for (const auto& r : keys->records())
            if (r.scope == scope)
                return std::any_of(r.versions.begin(), r.versions.end(),
                                   [](const crypto::KeyVersion& v) { return v.state != crypto::KeyState::destroyed; });
        return false;
    }
    std::unique_ptr<ClosurePurge> purge(std::uint32_t days) {
        ClosurePurgeOptions o;
        o.closure_purge_days = days;
        o.interval_ms = 0;
        o.segments = 4;
        o.messages_per_step = 3;
        o.logins_per_step = 1;
        o.now_unix = [this] { return now; };
        MailboxErase erase = [this](const store::MailboxRef& box, std::size_t max,
                                    std::function<void(Result<std::uint64_t>)> done) {
            if (stop_after_steps == 0) return done(fail(std::make_error_code(std::errc::interrupted)));
            --stop_after_steps;
            auto& left = mailbox[box.user_id];
            left -= std::min<std::uint64_t>(left, max);
            done(left);
        };
        auto job = std::make_unique<ClosurePurge>(*directory, *keys, history.get(), nullptr, nullptr, std::move(erase), o);
        job->erase_grants_from(grants.get());
        return job;
    }

    store::testing::TempDir dir;
    std::unique_ptr<store::StoreLayout> layout;
    std::unique_ptr<KeyService> keys;
    std::unique_ptr<store::Env> directory_env;
    std::unique_ptr<Directory> directory;
    std::unique_ptr<LoginHistory> history;
    std::unique_ptr<SupportGrants> grants;
    std::map<std::uint64_t, std::uint64_t> mailbox;  // messages left, by user id
    std::size_t stop_after_steps = 1000;
    std::int64_t now = t0;
};

TEST(ClosureTest, CloseAndReopenGiveEverythingBack) {
    ClosureFixture f;
    const User ann = f.add("ann@big.test");
    ASSERT_TRUE(f.directory->add_sender(f.k(), "ann@big.test", "sales@big.test"));
    auto closed = f.directory->close_user(f.k(), "ann@big.test", t0 + 5);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->state, UserState::closed);
    EXPECT_EQ(closed->closed_unix, t0 + 5);
    EXPECT_GT(closed->token_generation, ann.token_generation);  // tokens void
    EXPECT_EQ(f.directory->close_user(f.k(), "ann@big.test", t0 + 6).error(), DirectoryErrc::account_closed);
    auto reopened = f.directory->reopen_user(f.k(), "ann@big.test");
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->state, UserState::active);
    EXPECT_EQ(reopened->closed_unix, 0);
    EXPECT_EQ(reopened->allowed_senders, std::vector<std::string>{"sales@big.test"});
    EXPECT_EQ(reopened->password_hash, "hash");
    EXPECT_EQ(f.logins_of(ann.id), 2u);
    EXPECT_EQ(f.directory->reopen_user(f.k(), "ann@big.test").error(), DirectoryErrc::account_not_closed);
    // A disabled account closed and reopened comes back disabled.
    User disabled = *reopened;
    disabled.state = UserState::disabled;
    ASSERT_TRUE(f.directory->update_user(f.k(), disabled));
    ASSERT_TRUE(f.directory->close_user(f.k(), "ann@big.test", t0 + 7));
    EXPECT_EQ(f.directory->reopen_user(f.k(), "ann@big.test")->state, UserState::disabled);
}

TEST(ClosureTest, OrgCloseClosesItsUsersAndItsDomainsTakeNoNewOnes) {
    ClosureFixture f;
    f.add("ann@small.test");
    f.add("bob@small.test");
    ASSERT_TRUE(f.directory->close_user(f.k(), "bob@small.test", t0));  // on its own, before
    ASSERT_TRUE(f.directory->close_org(f.k(), "Small", t0 + 10));
    EXPECT_EQ(f.find("ann@small.test")->state, UserState::closed);
    EXPECT_TRUE(f.find("ann@small.test")->closed_with_org);
    EXPECT_EQ(f.directory->reopen_user(f.k(), "ann@small.test").error(), DirectoryErrc::org_closed);
    EXPECT_EQ(f.directory->add_user(f.k(), "new@small.test", "", 0, t0).error(), DirectoryErrc::org_closed);
    ASSERT_TRUE(f.directory->reopen_org(f.k(), "Small"));
    EXPECT_EQ(f.find("ann@small.test")->state, UserState::active);
    EXPECT_EQ(f.find("bob@small.test")->state, UserState::closed);  // closed on its own: stays so
}

TEST(ClosurePurgeTest, PurgesOnlyAfterTheDelayAndShredsTheUsersKey) {
    ClosureFixture f;
    const User ann = f.add("ann@big.test");  // ultimate: a key of its own
    const User cat = f.add("cat@big.test");
    const crypto::Scope own{crypto::ScopeKind::user, ann.id};
    ASSERT_TRUE(f.key_live(own));
    ASSERT_TRUE(f.directory->close_user(f.k(), "ann@big.test", t0));
    auto job = f.purge(2);
    f.now = t0 + 2 * day - 1;
    job->run_pass();
    EXPECT_TRUE(f.find("ann@big.test"));  // not yet due
    EXPECT_EQ(f.mailbox[ann.id], 10u);
    f.now = t0 + 2 * day;
    job->run_pass();
    EXPECT_EQ(f.find("ann@big.test").error(), DirectoryErrc::unknown_user);
    EXPECT_EQ(f.mailbox[ann.id], 0u);
    EXPECT_EQ(f.logins_of(ann.id), 0u);
    EXPECT_FALSE(f.key_live(own));
    EXPECT_FALSE(f.key_live(crypto::account_scope(ann.id)));
    EXPECT_FALSE(*f.grants->find(f.k(), ann.id));
    EXPECT_TRUE(*f.grants->find(f.k(), cat.id));
    EXPECT_TRUE(f.directory->pending_shreds(10)->empty());
    EXPECT_EQ(job->stats().users_purged, 1u);
    // The other account is untouched; the address is free again, as a new, empty account.
    EXPECT_TRUE(f.find("cat@big.test"));
    EXPECT_EQ(f.mailbox[cat.id], 10u);
    EXPECT_EQ(f.logins_of(cat.id), 2u);
    auto again = f.directory->add_user(f.k(), "ann@big.test", "", 0, t0);
    ASSERT_TRUE(again);
    EXPECT_NE(again->id, ann.id);
    EXPECT_EQ(f.directory->reopen_user(f.k(), "ann@big.test").error(), DirectoryErrc::account_not_closed);
}

TEST(ClosurePurgeTest, OnTheStarterPlanTheUsersOwnKeyIsShreddedAndTheSharedOneLivesOn) {
    ClosureFixture f;
    const User ann = f.add("ann@small.test");
    const User bob = f.add("bob@small.test");
    ASSERT_TRUE(f.directory->close_user(f.k(), "ann@small.test", t0));
    auto job = f.purge(0);
    job->run_pass();
    EXPECT_EQ(f.find("ann@small.test").error(), DirectoryErrc::unknown_user);
    EXPECT_FALSE(f.key_live(crypto::account_scope(ann.id)));
    EXPECT_TRUE(f.key_live(crypto::account_scope(bob.id)));
    EXPECT_TRUE(f.key_live({crypto::ScopeKind::shared, 0}));
    EXPECT_EQ(job->stats().keys_destroyed, 1u);
}

TEST(ClosurePurgeTest, AStoppedPurgeFinishesOnTheNextPassAndCannotBeReopened) {
    ClosureFixture f;
    const User ann = f.add("ann@big.test");
    ASSERT_TRUE(f.directory->close_user(f.k(), "ann@big.test", t0));
    f.stop_after_steps = 2;  // two mailbox steps, then the "process" dies
    auto first = f.purge(0);
    first->run_pass();
    EXPECT_EQ(first->stats().failed_passes, 1u);
    EXPECT_EQ(f.mailbox[ann.id], 4u);
    EXPECT_TRUE(f.find("ann@big.test")->purging);
    EXPECT_EQ(f.directory->reopen_user(f.k(), "ann@big.test").error(), DirectoryErrc::account_purged);
    first.reset();
    f.stop_after_steps = 1000;
    auto second = f.purge(37);  // a purge once begun goes on whatever the delay says now
    second->run_pass();
    EXPECT_EQ(second->stats().failed_passes, 0u);
    EXPECT_EQ(f.mailbox[ann.id], 0u);
    EXPECT_EQ(f.find("ann@big.test").error(), DirectoryErrc::unknown_user);
    EXPECT_FALSE(f.key_live({crypto::ScopeKind::user, ann.id}));
}

TEST(ClosurePurgeTest, AKeyLeftByAStopBetweenRecordAndKeyIsDestroyedNext) {
    ClosureFixture f;
    const User ann = f.add("ann@big.test");
    ASSERT_TRUE(f.directory->close_user(f.k(), "ann@big.test", t0));
    ASSERT_TRUE(f.directory->mark_purging(f.k(), ann.id));
    ASSERT_TRUE(f.directory->remove_user(f.k(), ann.id));  // stopped right after this commit
    ASSERT_EQ(f.directory->pending_shreds(10)->size(), 1u);
    EXPECT_TRUE(f.key_live({crypto::ScopeKind::user, ann.id}));
    f.purge(37)->run_pass();
    EXPECT_FALSE(f.key_live({crypto::ScopeKind::user, ann.id}));
    EXPECT_TRUE(f.directory->pending_shreds(10)->empty());
    EXPECT_TRUE(f.directory->remove_user(f.k(), ann.id));  // again: nothing left, no error
}

TEST(ClosurePurgeTest, PurgeNowRefusesAnOpenAccountAndAnOrgGoesWithItsDomains) {
    ClosureFixture f;
    const User ann = f.add("ann@small.test");
    auto job = f.purge(37);
    std::optional<std::error_code> answer;
    job->purge_now(ann.id, [&](Result<void> r) { answer = r ? std::error_code{} : r.error(); });
    EXPECT_EQ(answer, std::make_optional<std::error_code>(DirectoryErrc::account_not_closed));
    ASSERT_TRUE(f.directory->close_org(f.k(), "Small", t0));
    answer.reset();
    f.now = t0 + 37 * day;
    job->run_pass();
    EXPECT_EQ(f.find("ann@small.test").error(), DirectoryErrc::unknown_user);
    auto view = DirectoryView::open(*f.directory, f.keys->snapshot());
    EXPECT_EQ(view->find_org("Small").error(), DirectoryErrc::unknown_org);
    EXPECT_EQ(view->find_domain("small.test").error(), DirectoryErrc::unknown_domain);
    EXPECT_TRUE(view->find_org("Big"));
    EXPECT_EQ(job->stats().orgs_purged, 1u);
}

}  // namespace
}  // namespace vmx
