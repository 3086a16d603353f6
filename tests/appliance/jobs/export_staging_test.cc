// The portal's staged exports on real shards and a real store: a mailbox larger than one part is
// prepared in several parts that read back, in order, as exactly the mboxrd `user export` writes; the
// export is gone at its expiry; a new preparation replaces the old (ready or still running) and a
// discard removes every record; another user's export is not reachable, by id or by status; the
// manifest's encoding refuses what is not a whole manifest.
#include "appliance/jobs/export_staging.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <string>

#include "store/errc.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::kTestSegments;
using testing::kTestStart;

struct Instance : testing::TestTenant {
    Instance() {
        engine = std::make_unique<testing::TestEngine>([this](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
            ShardStoreOptions options;
            options.sweep_interval_ms = 0;
            auto s = ShardStore::open(shard, *envs, *handles, options, keys);
            if (!s) return fail(s.error());
            auto context = std::make_unique<ShardContext>();
            context->store = std::move(*s);
            context->writes = std::make_unique<MailboxWrites>(*context->store, MailboxWritesOptions{});
            ExportStagingOptions staging;
            staging.erase_records_max = 2;  // several erase tasks for one export
            staging.now_unix = [this] { return now.load(); };
            context->exports = std::make_unique<ExportStaging>(shard, *context->store, staging);
            return std::unique_ptr<ShardLocal>(std::move(context));
        });
    }
    ~Instance() { engine.reset(); }

    static store::MailboxRef box_of(std::uint64_t user) {
        return {user, store::segment_of(user, kTestSegments), crypto::account_scope(user)};
    }
    static std::uint32_t owner_of(std::uint64_t user) { return store::owner_shard(store::segment_of(user, kTestSegments), 2); }

    void append(std::uint64_t user, const std::string& body) {
        std::promise<void> done;
        engine->on_shard(owner_of(user), [&](ShardContext& c) {
            store::AppendOptions o;
            o.now_unix = now.load();
            c.writes->append(box_of(user), std::make_shared<const std::string>(body), o, std::nullopt,
                             [&done](const Result<std::uint64_t>& r) {
                                 EXPECT_TRUE(r);
                                 done.set_value();
                             });
        });
        ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    }

    // One call on the owner shard of `box`, answered (perhaps after lane writes).
    std::unique_ptr<StagedExportCall> call(StagedExportOp op, const store::MailboxRef& box, std::uint64_t export_id = 0,
                                           std::uint32_t part = 0, ExportTrash trash = ExportTrash::exclude) {
        std::promise<std::unique_ptr<StagedExportCall>> answered;
        engine->on_shard(owner_of(box.user_id), [&](ShardContext& c) {
            auto staged = std::make_unique<StagedExportCall>();
            staged->op = op;
            staged->box = box;
            staged->export_id = export_id;
            staged->part = part;
            staged->trash = trash;
            c.exports->on_call(std::move(staged), [&answered](std::unique_ptr<StagedExportCall> done) {
                answered.set_value(std::move(done));
            });
        });
        auto future = answered.get_future();
        VMX_ASSERT(future.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        return future.get();
    }
    StagedStatus status(std::uint64_t user) {
        auto answered = call(StagedExportOp::status, box_of(user));
        EXPECT_FALSE(answered->error) << answered->error.message();
        return answered->status;
    }
    StagedStatus prepared(std::uint64_t user, ExportTrash trash = ExportTrash::exclude) {
        EXPECT_EQ(call(StagedExportOp::prepare, box_of(user), 0, 0, trash)->status.state, StagedState::preparing);
        StagedStatus s;
        EXPECT_TRUE(testing::wait_for([&] { return (s = status(user)).state != StagedState::preparing; }));
        EXPECT_EQ(s.state, StagedState::ready) << s.error;
        return s;
    }
    std::string download(std::uint64_t user, const StagedStatus& s) {
        std::string out;
        for (std::uint32_t i = 0; i < s.parts; ++i) {
            auto part = call(StagedExportOp::read, box_of(user), s.export_id, i);
            EXPECT_FALSE(part->error) << part->error.message();
            out += part->bytes;
        }
        return out;
    }
    // What `user export` writes for the mailbox now.
    std::string reference(std::uint64_t user, ExportTrash trash) {
        std::string out;
        engine->on_shard(owner_of(user), [&](ShardContext& c) {
            MailboxExport e(box_of(user), trash);
            while (!e.done()) ASSERT_TRUE(e.fill(*c.store, out, out.size() + export_piece_bytes));
        });
        return out;
    }
    // The user's temp records, of any kind.
    std::vector<store::TempRecordRef> temp_records(std::uint64_t user) {
        const std::uint32_t segment = store::segment_of(user, kTestSegments);
        auto txn = store::ReadTxn::begin(*envs->env(segment, store::SegmentKind::temp));
        VMX_ASSERT(txn);
        auto listed = handles->segment(segment).temp->list(*txn, user, 0, 100000);
        VMX_ASSERT(listed);
        return *listed;
    }

    std::atomic<std::int64_t> now{kTestStart};
    std::unique_ptr<testing::TestEngine> engine;
};

// Messages of about 500 KB: three of them make a mailbox of more than one part (export_piece_bytes).
std::string big_message(int n) {
    std::string body = "From: a@example.test\r\nSubject: big " + std::to_string(n) + "\r\n\r\n";
    for (int line = 0; line < 12000; ++line) body += "From here on, line " + std::to_string(line) + " of a long body.\r\n";
    return body;
}

TEST(ExportStagingTest, ALargeMailboxComesBackInPartsAsTheExportWritesIt) {
    Instance in;
    const std::uint64_t user = in.add_user("ann@example.test");
    for (int n = 0; n < 3; ++n) in.append(user, big_message(n));
    EXPECT_EQ(in.status(user).state, StagedState::none);
    const StagedStatus s = in.prepared(user);
    EXPECT_GT(s.parts, 1u);
    EXPECT_EQ(s.messages, 3u);
    EXPECT_EQ(s.expires_unix, kTestStart + 24 * 3600);
    EXPECT_FALSE(s.trash);
    const std::string expected = in.reference(user, ExportTrash::exclude);
    EXPECT_EQ(s.bytes, expected.size());
    EXPECT_EQ(in.download(user, s), expected);
    EXPECT_EQ(in.temp_records(user).size(), s.parts + 1u) << "the parts and one manifest";
    EXPECT_EQ(in.call(StagedExportOp::read, Instance::box_of(user), s.export_id, s.parts)->error,
              store::StoreErrc::invalid_request);
    // A part's id is not an export's.
    const std::uint64_t a_part = in.temp_records(user).front().id;
    EXPECT_EQ(in.call(StagedExportOp::read, Instance::box_of(user), a_part, 0)->error, store::StoreErrc::not_found);
}

TEST(ExportStagingTest, AnExportIsGoneAtItsExpiry) {
    Instance in;
    const std::uint64_t user = in.add_user("ann@example.test");
    in.append(user, "Subject: one\r\n\r\nbody\r\n");
    const StagedStatus s = in.prepared(user);
    in.now = s.expires_unix - 1;
    EXPECT_EQ(in.status(user).state, StagedState::ready);
    EXPECT_FALSE(in.call(StagedExportOp::read, Instance::box_of(user), s.export_id, 0)->error);
    in.now = s.expires_unix;
    EXPECT_EQ(in.status(user).state, StagedState::none);
    EXPECT_EQ(in.call(StagedExportOp::read, Instance::box_of(user), s.export_id, 0)->error, store::StoreErrc::not_found);
}

TEST(ExportStagingTest, APrepareReplacesTheExportAndADiscardErasesIt) {
    Instance in;
    const std::uint64_t user = in.add_user("ann@example.test");
    for (int n = 0; n < 3; ++n) in.append(user, big_message(n));
    const StagedStatus first = in.prepared(user);
    const StagedStatus second = in.prepared(user, ExportTrash::include);
    EXPECT_NE(second.export_id, first.export_id);
    EXPECT_TRUE(second.trash);
    EXPECT_EQ(in.call(StagedExportOp::read, Instance::box_of(user), first.export_id, 0)->error,
              store::StoreErrc::not_found);
    EXPECT_EQ(in.temp_records(user).size(), second.parts + 1u) << "the first export's records are erased";
    // Two prepares in one turn of the shard: the first stops after its write in flight, the second is the export.
    in.engine->on_shard(Instance::owner_of(user), [&](ShardContext& c) {
        c.exports->prepare(Instance::box_of(user), ExportTrash::include);
        c.exports->prepare(Instance::box_of(user), ExportTrash::exclude);
        EXPECT_EQ(c.exports->waiting(), 1u);
    });
    StagedStatus third;
    ASSERT_TRUE(testing::wait_for([&] { return (third = in.status(user)).state == StagedState::ready; }));
    EXPECT_FALSE(third.trash);
    EXPECT_EQ(in.download(user, third), in.reference(user, ExportTrash::exclude));
    EXPECT_EQ(in.temp_records(user).size(), third.parts + 1u);
    // A discard erases every record, a preparation running or not.
    EXPECT_FALSE(in.call(StagedExportOp::discard, Instance::box_of(user))->error);
    EXPECT_EQ(in.status(user).state, StagedState::none);
    EXPECT_TRUE(in.temp_records(user).empty());
    in.engine->on_shard(Instance::owner_of(user), [&](ShardContext& c) { c.exports->prepare(Instance::box_of(user), ExportTrash::exclude); });
    EXPECT_FALSE(in.call(StagedExportOp::discard, Instance::box_of(user))->error);
    ASSERT_TRUE(testing::wait_for([&] {
        bool idle = false;
        in.engine->on_shard(Instance::owner_of(user), [&](ShardContext& c) { idle = !c.exports->running(); });
        return idle;
    }));
    EXPECT_EQ(in.status(user).state, StagedState::none);
    EXPECT_TRUE(in.temp_records(user).empty());
}

TEST(ExportStagingTest, AnotherUsersExportIsNotReachable) {
    Instance in;
    const std::uint64_t ann = in.add_user_on(0, "ann");
    const std::uint64_t bob = in.add_user_on(0, "bob");  // the same segment and temp store
    in.append(ann, "Subject: ann's\r\n\r\nprivate\r\n");
    const StagedStatus s = in.prepared(ann);
    EXPECT_EQ(in.status(bob).state, StagedState::none);
    EXPECT_EQ(in.call(StagedExportOp::read, Instance::box_of(bob), s.export_id, 0)->error, store::StoreErrc::not_found);
    EXPECT_FALSE(in.call(StagedExportOp::discard, Instance::box_of(bob))->error);
    EXPECT_EQ(in.status(ann).state, StagedState::ready) << "bob's discard left ann's export alone";
    EXPECT_EQ(in.temp_records(ann).size(), s.parts + 1u);
}

TEST(ExportStagingTest, TheManifestDecodesOnlyWhole) {
    StagedManifest m;
    m.trash = true;
    m.messages = 3;
    m.created_unix = kTestStart;
    m.parts = {{7, 100}, {9, 23}};
    m.bytes = 123;
    const auto bytes = encode_manifest(m);
    auto back = decode_manifest(bytes);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->trash);
    EXPECT_EQ(back->messages, 3u);
    ASSERT_EQ(back->parts.size(), 2u);
    EXPECT_EQ(back->parts[1].id, 9u);
    EXPECT_EQ(back->parts[1].bytes, 23u);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_FALSE(decode_manifest(std::span<const std::uint8_t>(bytes).first(cut))) << cut;
    auto wrong_sum = bytes;
    wrong_sum[wrong_sum.size() - 4] ^= 1;  // the last part's size
    EXPECT_FALSE(decode_manifest(wrong_sum));
    const std::string mbox = "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n";
    EXPECT_FALSE(decode_manifest(std::span(reinterpret_cast<const std::uint8_t*>(mbox.data()), mbox.size())));
}

}  // namespace
}  // namespace vmx
