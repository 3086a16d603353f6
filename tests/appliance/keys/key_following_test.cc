// How a node of a shared store follows the key store (KeyService::follow_store): what another
// writer saved is loaded and published; what this node saved itself is not loaded again; a key id
// another writer took meanwhile is never overwritten.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "appliance/keys/key_service.h"
#include "appliance/keys/key_setup.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

struct KeyFollowingTest : ::testing::Test {
    KeyFollowingTest() { layout.emplace(testing::test_layout(dir.path())); }
    // Another writer of the same key store, as another node is: a process of its own (LMDB allows
    // one open of an environment per process), which saves a key for `scope` and ends.
    bool other_node_saves(const crypto::Scope& scope) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            auto other = service();
            ::_exit(other->ensure(scope, 1) ? 0 : 1);
        }
        int status = 0;
        return pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    std::unique_ptr<KeyService> service() {
        auto opened = open_keys(*layout, testing::fixed_master_key(5), "test");
        VMX_ASSERT(std::holds_alternative<OpenedKeys>(opened));
        return std::make_unique<KeyService>(std::move(std::get<OpenedKeys>(opened)));
    }

    store::testing::TempDir dir;
    std::optional<store::StoreLayout> layout;
};

TEST_F(KeyFollowingTest, OwnWritesAreNotLoadedAgainOthersAre) {
    auto node = service();
    int published = 0;
    node->on_publish([&](const std::shared_ptr<const crypto::KeySet>&) { ++published; });
    auto first = node->follow_store();  // the first look loads once
    ASSERT_TRUE(first);
    EXPECT_TRUE(*first);
    EXPECT_FALSE(*node->follow_store());

    const crypto::Scope mine = crypto::scope_for(crypto::Plan::pro, 1, 11);
    ASSERT_TRUE(node->ensure(mine, 1));
    published = 0;
    EXPECT_FALSE(*node->follow_store());  // its own save: nothing to load
    EXPECT_EQ(published, 0);

    // Another writer of the same key store (another node) saves a key this one has not seen (a
    // plan scope of another organisation).
    const crypto::Scope theirs = crypto::scope_for(crypto::Plan::pro, 2, 12);
    ASSERT_TRUE(other_node_saves(theirs));
    EXPECT_FALSE(node->snapshot()->active(theirs));
    EXPECT_TRUE(*node->follow_store());
    EXPECT_EQ(published, 1);
    EXPECT_TRUE(node->snapshot()->active(theirs));
    EXPECT_TRUE(node->snapshot()->active(mine));

    // A key of its own saved after another writer's, before this node looked: both took the same
    // key id, so this save is refused (the other's key is never overwritten), the ring is loaded
    // again, and the save run again keeps both.
    const crypto::Scope third = crypto::scope_for(crypto::Plan::pro, 3, 13);
    const crypto::Scope fourth = crypto::scope_for(crypto::Plan::pro, 4, 14);
    ASSERT_TRUE(other_node_saves(third));
    auto refused = node->ensure(fourth, 1);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), store::StoreErrc::conflict);
    EXPECT_TRUE(node->snapshot()->active(third));
    ASSERT_TRUE(node->ensure(fourth, 1));
    EXPECT_FALSE(*node->follow_store());
    EXPECT_TRUE(node->snapshot()->active(third));
    EXPECT_TRUE(node->snapshot()->active(fourth));
}

}  // namespace
}  // namespace vmx
