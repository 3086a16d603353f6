// The data folder layout: init creates every environment and the metadata, open checks them, the
// recorded segment count wins, and the mailbox-to-segment hash never changes.
#include "store/layout.h"

#include "store/lane.h"
#include "store/shard_envs.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::TempDir;

StoreOptions small_options(std::uint32_t segments) {
    StoreOptions o;
    o.sizing.segments = segments;
    o.sizing.mail_map_mib = 1;
    o.sizing.queue_map_mib = 1;
    o.sizing.temp_map_mib = 1;
    o.sizing.global_map_mib = 1;
    o.sizing.map_mib_max = 4;
    return o;
}

unsigned mode_of(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
}

TEST(LayoutTest, InitCreatesEverySegmentEnvironment) {
    TempDir dir;
    const std::string data = dir.path() + "/data";
    auto made = StoreLayout::init(data, small_options(3));
    ASSERT_TRUE(made) << made.error().message();
    EXPECT_TRUE(made->created);
    const StoreLayout& layout = made->layout;
    EXPECT_EQ(layout.segments(), 3u);
    EXPECT_EQ(layout.path(SegmentKind::mail, 2), data + "/mail/0002");
    EXPECT_EQ(layout.path(SegmentKind::smtp_in, 0), data + "/smtp-in/0000");
    EXPECT_EQ(layout.path(GlobalKind::audit), data + "/global/audit");
    for (SegmentKind k : segment_kinds)
        for (std::uint32_t s = 0; s < 3; ++s) {
            EXPECT_EQ(mode_of(layout.path(k, s)), 0700u) << layout.path(k, s);
            EXPECT_EQ(mode_of(layout.path(k, s) + "/data.mdb"), 0600u);
        }
    for (GlobalKind g : global_kinds) EXPECT_EQ(mode_of(layout.path(g)), 0700u);
    EXPECT_EQ(mode_of(data), 0700u);
    std::ifstream meta(data + "/meta");
    std::string content((std::istreambuf_iterator<char>(meta)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "vaultmx-store\nformat = 1\nsegments = 3\n");
}

TEST(LayoutTest, KindPathsMayBeAbsoluteOrRelative) {
    TempDir dir;
    const std::string data = dir.path() + "/data";
    StoreOptions o = small_options(1);
    o.smtp_in_path = dir.path() + "/fast/in";
    o.mail_path = "big/mail";
    auto made = StoreLayout::init(data, o);
    ASSERT_TRUE(made) << made.error().message();
    EXPECT_EQ(made->layout.path(SegmentKind::smtp_in, 0), dir.path() + "/fast/in/0000");
    EXPECT_EQ(made->layout.path(SegmentKind::mail, 0), data + "/big/mail/0000");
    EXPECT_EQ(mode_of(dir.path() + "/fast/in/0000/data.mdb"), 0600u);
}

TEST(LayoutTest, RecordedSegmentCountWins) {
    TempDir dir;
    const std::string data = dir.path() + "/data";
    ASSERT_TRUE(StoreLayout::init(data, small_options(2)));
    auto again = StoreLayout::init(data, small_options(5));  // init twice keeps the store
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->created);
    EXPECT_EQ(again->layout.segments(), 2u);
    auto opened = StoreLayout::open(data, small_options(7));
    ASSERT_TRUE(opened);
    EXPECT_EQ(opened->segments(), 2u);
}

TEST(LayoutTest, OpenRefusesWhatInitDidNotMake) {
    TempDir dir;
    const std::string data = dir.path() + "/data";
    EXPECT_EQ(StoreLayout::open(data, small_options(2)).error(), StoreErrc::not_initialised);
    ASSERT_TRUE(StoreLayout::init(data, small_options(2)));
    StoreOptions moved = small_options(2);
    moved.temp_path = "elsewhere";  // a path changed after init: refuse rather than start empty
    EXPECT_EQ(StoreLayout::open(data, moved).error(), StoreErrc::layout_mismatch);
    {
        std::ofstream meta(data + "/meta", std::ios::trunc);
        meta << "vaultmx-store\nformat = 2\nsegments = 2\n";
    }
    EXPECT_EQ(StoreLayout::open(data, small_options(2)).error(), StoreErrc::layout_mismatch);
    {
        std::ofstream meta(data + "/meta", std::ios::trunc);
        meta << "vaultmx-store\nformat = 1\nsegments = lots\n";
    }
    EXPECT_EQ(StoreLayout::open(data, small_options(2)).error(), StoreErrc::corrupt);
}

TEST(LayoutTest, EnvOptionsFollowTheKind) {
    TempDir dir;
    StoreOptions o = small_options(1);
    o.sizing.mail_map_mib = 8;
    o.sizing.queue_map_mib = 2;
    o.sizing.map_mib_max = 16;
    auto made = StoreLayout::init(dir.path() + "/data", o);
    ASSERT_TRUE(made);
    EXPECT_EQ(made->layout.env_options(SegmentKind::mail).map_bytes, std::size_t{8} << 20);
    EXPECT_EQ(made->layout.env_options(SegmentKind::smtp_out).map_bytes, std::size_t{2} << 20);
    EXPECT_EQ(made->layout.env_options(SegmentKind::mail).map_bytes_max, std::size_t{16} << 20);
    EXPECT_EQ(made->layout.env_options(GlobalKind::keys).map_bytes, std::size_t{1} << 20);
}

// These values are frozen: a change here moves mailboxes between segments on every installed box.
// segment_of(0, 16) = 15 matches splitmix64's published first output from seed 0, 0xe220a8397b1dcdaf.
TEST(LayoutTest, SegmentHashIsStable) {
    EXPECT_EQ(segment_of(0, 16), 15u);
    EXPECT_EQ(segment_of(1, 16), 1u);
    EXPECT_EQ(segment_of(2, 16), 14u);
    EXPECT_EQ(segment_of(12345, 16), 0u);
    EXPECT_EQ(segment_of(0xffffffffffffffffull, 16), 0u);
    EXPECT_EQ(segment_of(1000000007, 4096), 3854u);
    EXPECT_EQ(segment_of(42, 1), 0u);
}

TEST(LayoutTest, SegmentHashSpreadsEvenly) {
    std::map<std::uint32_t, int> counts;
    for (std::uint64_t id = 1; id <= 16000; ++id) ++counts[segment_of(id, 16)];
    ASSERT_EQ(counts.size(), 16u);
    for (const auto& [segment, n] : counts) {
        EXPECT_GT(n, 850) << segment;
        EXPECT_LT(n, 1150) << segment;
    }
}

TEST(LayoutTest, OwnerShardIsSegmentModuloShards) {
    EXPECT_EQ(owner_shard(0, 4), 0u);
    EXPECT_EQ(owner_shard(5, 4), 1u);
    EXPECT_EQ(owner_shard(15, 16), 15u);
    EXPECT_EQ(owner_shard(15, 1), 0u);
}

TEST(ShardEnvironmentsTest, AShardViewsTheSegmentsItOwnsForItsLane) {
    TempDir dir;
    auto made = StoreLayout::init(dir.path() + "/data", small_options(5));
    ASSERT_TRUE(made);
    auto all = StoreEnvironments::open(made->layout);
    ASSERT_TRUE(all) << all.error().message();
    EXPECT_EQ(all->env(3, SegmentKind::temp)->path(), made->layout.path(SegmentKind::temp, 3));
    EXPECT_EQ(all->env(5, SegmentKind::temp), nullptr);
    auto envs = std::optional<ShardEnvironments>(ShardEnvironments::view(*all, 1, 2));
    EXPECT_EQ(envs->segments(), (std::vector<std::uint32_t>{1, 3}));
    EXPECT_EQ(envs->envs().size(), 8u);
    EXPECT_FALSE(envs->lane_index(2, SegmentKind::mail));  // shard 0's
    // The queues of every owned segment first (the lane commits them first), then mail, then temp.
    EXPECT_EQ(envs->lane_index(1, SegmentKind::smtp_in), 0u);
    EXPECT_EQ(envs->lane_index(3, SegmentKind::smtp_out), 3u);
    EXPECT_EQ(envs->lane_index(1, SegmentKind::mail), 4u);
    EXPECT_EQ(envs->lane_index(3, SegmentKind::temp), 7u);
    EXPECT_EQ(envs->envs()[*envs->lane_index(3, SegmentKind::mail)], all->env(3, SegmentKind::mail));
    EXPECT_EQ(envs->env(3, SegmentKind::temp)->path(), made->layout.path(SegmentKind::temp, 3));

    // A write through the lane lands in that segment's environment on disk.
    Env* mail3 = envs->env(3, SegmentKind::mail);
    auto dbi = mail3->open_dbi("records");
    ASSERT_TRUE(dbi);
    {
        Lane lane(envs->envs(), LaneOptions{});
        ASSERT_TRUE(lane.start());
        WriteRequest r;
        r.env = *envs->lane_index(3, SegmentKind::mail);
        r.ops.push_back(WriteOp{WriteOpKind::put, *dbi, testing::bytes("k"), testing::bytes("v")});
        ASSERT_TRUE(lane.submit(r));
    }  // the destructor commits what was queued
    auto read = ReadTxn::begin(*mail3);
    ASSERT_TRUE(read);
    EXPECT_TRUE(read->get(*dbi, testing::bytes("k")));
}

}  // namespace
}  // namespace vmx::store
