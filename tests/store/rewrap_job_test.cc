// The rewrap job: rotation and plan changes driven over a real environment, interrupted and resumed.
#include "tests/support/test_keys.h"
#include "store/rewrap_job.h"

#include <gtest/gtest.h>

#include <map>

#include "store/errc.h"
#include "store/record_key.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;

constexpr std::uint32_t segment = 2;

crypto::MasterKey master() { return vmx::testing::fixed_master_key(0x5a); }

std::string body_of(std::uint64_t owner, std::uint64_t object) {
    return "message " + std::to_string(object) + " of mailbox " + std::to_string(owner);
}

struct Fixture {
    TempDir dir;
    std::unique_ptr<Env> env;
    Dbi data{};
    Dbi state{};

    void open() {
        env.reset();
        auto e = testing::open_test_env(dir.sub("mail"), EnvOptions{});
        ASSERT_TRUE(e) << e.error().message();
        env = std::move(*e);
        data = *env->open_dbi("messages");
        state = *env->open_dbi("jobs");
    }

    // owners 1..3, objects 1..5 each, sealed under each owner's scope; plus one unsealed counter.
    void fill(const crypto::KeySet& keys, const std::function<crypto::Scope(std::uint64_t)>& scope) {
        auto txn = WriteTxn::begin(*env);
        ASSERT_TRUE(txn);
        for (std::uint64_t owner = 1; owner <= 3; ++owner) {
            for (std::uint64_t object = 1; object <= 5; ++object) {
                const RecordKey key{owner, record_of(object, 0)};
                auto sealed = keys.seal(scope(owner), identity_of(crypto::StoreKind::mail, segment, key),
                                        bytes(body_of(owner, object)));
                ASSERT_TRUE(sealed);
                ASSERT_TRUE(txn->put(data, encode_record_key(key), *sealed));
            }
        }
        ASSERT_TRUE(txn->put(data, bytes("~counter"), bytes("42")));
        ASSERT_TRUE(txn->commit());
    }

    // Every message opens and says what it should.
    void expect_all_open(const crypto::KeySet& keys) {
        auto txn = ReadTxn::begin(*env);
        ASSERT_TRUE(txn);
        for (std::uint64_t owner = 1; owner <= 3; ++owner) {
            for (std::uint64_t object = 1; object <= 5; ++object) {
                const RecordKey key{owner, record_of(object, 0)};
                auto value = txn->get(data, encode_record_key(key));
                ASSERT_TRUE(value);
                auto opened = keys.open(identity_of(crypto::StoreKind::mail, segment, key), *value);
                ASSERT_TRUE(opened) << owner << "/" << object << ": " << opened.error().message();
                EXPECT_EQ(testing::text(*opened), body_of(owner, object));
            }
        }
    }

    std::size_t count_under(const crypto::KeySet& keys, const crypto::Scope& scope) {
        auto txn = ReadTxn::begin(*env);
        auto cursor = Cursor::open(*txn, data);
        std::size_t n = 0;
        for (auto e = cursor->first(); e && *e; e = cursor->next())
            if (crypto::peek_key((*e)->value) && !keys.needs_rewrap(scope, (*e)->value)) ++n;
        return n;
    }
};

TEST(RewrapJob, RotationInterruptedAndResumedMovesEveryRecord) {
    Fixture f;
    f.open();
    crypto::Keyring ring = crypto::Keyring::create(master());
    const crypto::Scope org = crypto::scope_for(crypto::Plan::pro, 9, 0);
    auto v1 = ring.ensure_scope_key(org, 1);
    ASSERT_TRUE(v1);
    f.fill(*ring.snapshot(), [&](std::uint64_t) { return org; });
    ASSERT_TRUE(ring.rotate(v1->key_id, 2));
    auto keys = ring.snapshot();
    const ScopeOf scope_of = [&](std::uint64_t) -> std::optional<crypto::Scope> { return org; };

    {   // Two steps, then the process "stops".
        RewrapJob job(*f.env, f.data, f.state, crypto::StoreKind::mail, segment, "rotate-9", scope_of);
        auto a = job.step(*keys, 4);
        ASSERT_TRUE(a);
        EXPECT_EQ(a->rewrapped, 4u);
        EXPECT_FALSE(a->done);
        ASSERT_TRUE(job.step(*keys, 4));
    }
    EXPECT_EQ(f.count_under(*keys, org), 8u);
    f.open();  // reopen: the saved position survives
    RewrapJob resumed(*f.env, f.data, f.state, crypto::StoreKind::mail, segment, "rotate-9", scope_of);
    RewrapProgress last;
    for (int i = 0; i < 10 && !last.done; ++i) {
        auto r = resumed.step(*keys, 4);
        ASSERT_TRUE(r);
        last = *r;
    }
    ASSERT_TRUE(last.done);
    EXPECT_EQ(resumed.progress().rewrapped, 7u);  // 15 records, 8 done before the stop
    EXPECT_EQ(resumed.progress().skipped, 1u);    // the unsealed counter
    EXPECT_EQ(f.count_under(*keys, org), 15u);

    // The old version can now be destroyed and everything still opens.
    ASSERT_TRUE(ring.finish_retirement(*v1));
    f.expect_all_open(*ring.snapshot());
}

TEST(RewrapJob, PlanChangeMovesAnOrganisationToItsNewScope) {
    Fixture f;
    f.open();
    crypto::Keyring ring = crypto::Keyring::create(master());
    const crypto::Scope starter = crypto::scope_for(crypto::Plan::starter, 9, 0);
    ASSERT_TRUE(ring.ensure_scope_key(starter, 1));
    f.fill(*ring.snapshot(), [&](std::uint64_t) { return starter; });
    // The organisation moves to ultimate: each user gets a key of their own.
    for (std::uint64_t user = 1; user <= 3; ++user)
        ASSERT_TRUE(ring.ensure_scope_key(crypto::scope_for(crypto::Plan::ultimate, 9, user), 2));
    auto keys = ring.snapshot();
    RewrapJob job(*f.env, f.data, f.state, crypto::StoreKind::mail, segment, "plan-9",
                  [](std::uint64_t owner) -> std::optional<crypto::Scope> {
                      return crypto::scope_for(crypto::Plan::ultimate, 9, owner);
                  });
    for (int i = 0; i < 20 && !job.progress().done; ++i) ASSERT_TRUE(job.step(*keys, 5));
    ASSERT_TRUE(job.progress().done);
    EXPECT_EQ(job.progress().rewrapped, 15u);
    for (std::uint64_t user = 1; user <= 3; ++user)
        EXPECT_GE(f.count_under(*keys, crypto::scope_for(crypto::Plan::ultimate, 9, user)), 5u);
    f.expect_all_open(*keys);
}

TEST(RewrapJob, RecordsUnderADestroyedKeyAreCountedAndLeftAlone) {
    Fixture f;
    f.open();
    crypto::Keyring ring = crypto::Keyring::create(master());
    const crypto::Scope user = crypto::scope_for(crypto::Plan::ultimate, 1, 1);
    auto ref = ring.ensure_scope_key(user, 1);
    ASSERT_TRUE(ref);
    f.fill(*ring.snapshot(), [&](std::uint64_t) { return user; });
    ASSERT_TRUE(ring.destroy(ref->key_id));
    const crypto::Scope other = crypto::scope_for(crypto::Plan::ultimate, 1, 2);
    ASSERT_TRUE(ring.ensure_scope_key(other, 2));
    RewrapJob job(*f.env, f.data, f.state, crypto::StoreKind::mail, segment, "shredded",
                  [&](std::uint64_t) -> std::optional<crypto::Scope> { return other; });
    auto r = job.step(*ring.snapshot(), 100);
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->done);
    EXPECT_EQ(r->failed, 15u);
    EXPECT_EQ(r->rewrapped, 0u);
}

}  // namespace
}  // namespace vmx::store

namespace vmx::store {
namespace {

// Records keyed in a shape of their own (as the directory's are): the job asks target_of for each
// key's identity and scope, moves what it names, and leaves what it does not (nullopt) alone.
TEST(RewrapJob, RecordsOfAnyKeyShapeMoveThroughTargetOf) {
    TempDir dir;
    auto env = testing::open_test_env(dir.sub("directory"), EnvOptions{});
    ASSERT_TRUE(env);
    const Dbi data = *(*env)->open_dbi("records");
    const Dbi state = *(*env)->open_dbi("rewrap");
    crypto::Keyring ring = crypto::Keyring::create(master());
    const crypto::Scope appliance{crypto::ScopeKind::appliance, 0};
    auto v1 = ring.ensure_scope_key(appliance, 1);
    ASSERT_TRUE(v1);
    auto identity = [](std::uint64_t id) {
        crypto::RecordIdentity i{};
        i.store = crypto::StoreKind::directory;
        i.record_id = id;
        return i;
    };
    {
        auto keys = ring.snapshot();
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        for (std::uint64_t id = 1; id <= 40; ++id) {
            const std::string key = "user:" + std::to_string(id);
            ASSERT_TRUE(txn->put(data, bytes(key), *keys->seal(appliance, identity(id), bytes("record " + std::to_string(id)))));
        }
        ASSERT_TRUE(txn->put(data, bytes("index:x"), bytes("not sealed")));
        ASSERT_TRUE(txn->commit());
    }
    ASSERT_TRUE(ring.rotate(v1->key_id, 2));
    auto target_of = [&](Bytes key) -> std::optional<RewrapTarget> {
        const std::string text(key.begin(), key.end());
        if (!text.starts_with("user:")) return std::nullopt;
        return RewrapTarget{appliance, identity(std::stoull(text.substr(5)))};
    };
    RewrapJob job(**env, data, state, "rotation", target_of);
    const auto keys = ring.snapshot();
    for (int i = 0; i < 100 && !job.progress().done; ++i) ASSERT_TRUE(job.step(*keys, 7));
    EXPECT_TRUE(job.progress().done);
    EXPECT_EQ(job.progress().rewrapped, 40U);
    EXPECT_EQ(job.progress().skipped, 1U);
    ASSERT_TRUE(ring.finish_retirement(*v1));
    auto txn = ReadTxn::begin(**env);
    ASSERT_TRUE(txn);
    for (std::uint64_t id = 1; id <= 40; ++id) {
        auto value = txn->get(data, bytes("user:" + std::to_string(id)));
        ASSERT_TRUE(value);
        auto opened = ring.snapshot()->open(identity(id), *value);
        ASSERT_TRUE(opened) << id;
        EXPECT_EQ(testing::text(*opened), "record " + std::to_string(id));
    }
}

}  // namespace
}  // namespace vmx::store
