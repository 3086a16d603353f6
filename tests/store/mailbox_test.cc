// Mailboxes: append / list / streaming read, reopen, trash / restore / purge by time, quota, and the
// sealing guarantees (a record moved to another mailbox, a tampered value, swapped or missing chunks
// all fail to open). Also the store-lane path (MailboxWriter -> Lane::submit).
#include "tests/support/test_keys.h"
#include "store/mailbox.h"

#include <poll.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "crypto/errc.h"
#include "store/errc.h"
#include "store/layout.h"
#include "store/record_key.h"
#include "store/rewrap_job.h"
#include "store/codec.h"
#include "crypto/random.h"
#include "tests/crypto/sealed_v1_writer.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;

constexpr std::int64_t t0 = 1700000000;
constexpr std::int64_t day = std::int64_t{24} * 3600;

crypto::MasterKey test_master() { return vmx::testing::fixed_master_key(11); }

std::vector<std::uint8_t> body_of(std::size_t n, std::uint64_t seed) {
    // Half text (compresses), half noise (does not): both codec forms appear among the chunks.
    std::vector<std::uint8_t> v(n);
    std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (std::size_t i = 0; i < n; ++i) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        v[i] = (i / 4096) % 2 ? static_cast<std::uint8_t>(x >> 24) : static_cast<std::uint8_t>('a' + i % 26);
    }
    return v;
}

std::uint64_t chunk_record_of(std::uint64_t id, std::uint32_t c) {
    return record_of((std::uint64_t{1} << 59) | id << 16 | c, 0);
}

class MailboxTest : public ::testing::Test {
protected:
    MailboxTest() : ring_(crypto::Keyring::create(test_master())) {
        StoreOptions o;
        o.sizing.segments = 2;
        o.sizing.mail_map_mib = 32;
        o.sizing.queue_map_mib = 1;
        o.sizing.temp_map_mib = 1;
        o.sizing.global_map_mib = 1;
        o.sizing.map_mib_max = 256;
        auto made = StoreLayout::init(dir_.path() + "/data", o);
        VMX_ASSERT(made);
        layout_ = std::make_unique<StoreLayout>(made->layout);
        for (std::uint64_t user : {1001u, 1002u}) VMX_ASSERT(ring_.ensure_scope_key(scope_of(user), t0));
        keys_ = ring_.snapshot();
        open_env();
    }

    static crypto::Scope scope_of(std::uint64_t user) { return crypto::Scope{crypto::ScopeKind::user, user}; }
    MailboxRef box(std::uint64_t user) const {
        // Both test users share one environment (segment 0) so records can be moved between them.
        return MailboxRef{user, 0, scope_of(user)};
    }

    void open_env() {
        auto env = testing::open_test_env(layout_->path(SegmentKind::mail, 0), layout_->env_options(SegmentKind::mail));
        VMX_ASSERT(env);
        env_ = std::move(*env);
        auto dbi = open_mailbox_dbi(*env_);
        VMX_ASSERT(dbi);
        dbi_ = *dbi;
    }

    std::uint64_t append_one(const MailboxRef& b, const std::vector<std::uint8_t>& body, std::int64_t now = t0,
                             std::uint64_t quota = 0) {
        auto txn = WriteTxn::begin(*env_);
        VMX_ASSERT(txn);
        auto id = append(*txn, dbi_, *keys_, b, body, AppendOptions{now, quota});
        EXPECT_TRUE(id) << id.error().message();
        if (!id) return 0;
        VMX_ASSERT(txn->commit());
        return *id;
    }

    Result<std::vector<std::uint8_t>> read_body(const MailboxRef& b, std::uint64_t id, std::size_t* chunks = nullptr) {
        auto txn = ReadTxn::begin(*env_);
        VMX_ASSERT(txn);
        auto reader = BodyReader::open(*txn, dbi_, *keys_, b, id);
        if (!reader) return fail(reader.error());
        std::vector<std::uint8_t> out;
        std::size_t n = 0;
        for (;;) {
            auto chunk = reader->next(*txn, *keys_);
            if (!chunk) return fail(chunk.error());
            if (!*chunk) break;
            EXPECT_LE((*chunk)->size(), body_chunk_bytes);
            out.insert(out.end(), (*chunk)->begin(), (*chunk)->end());
            ++n;
        }
        if (chunks) *chunks = n;
        return out;
    }

    Result<std::vector<MessageInfo>> list(const MailboxRef& b, ListTrash trash = ListTrash::exclude) {
        auto txn = ReadTxn::begin(*env_);
        VMX_ASSERT(txn);
        return list_messages(*txn, dbi_, *keys_, b, trash);
    }

    MailboxState state(const MailboxRef& b) {
        auto txn = ReadTxn::begin(*env_);
        VMX_ASSERT(txn);
        auto s = load_state(*txn, dbi_, *keys_, b);
        VMX_ASSERT(s);
        return *s;
    }

    std::vector<std::uint8_t> raw_get(std::uint64_t owner, std::uint64_t record) {
        auto txn = ReadTxn::begin(*env_);
        VMX_ASSERT(txn);
        auto v = txn->get(dbi_, encode_record_key(RecordKey{owner, record}));
        VMX_ASSERT(v);
        return {v->begin(), v->end()};
    }
    void raw_put(std::uint64_t owner, std::uint64_t record, const std::vector<std::uint8_t>& value) {
        auto txn = WriteTxn::begin(*env_);
        VMX_ASSERT(txn);
        VMX_ASSERT(txn->put(dbi_, encode_record_key(RecordKey{owner, record}), value));
        VMX_ASSERT(txn->commit());
    }
    void raw_erase(std::uint64_t owner, std::uint64_t record) {
        auto txn = WriteTxn::begin(*env_);
        VMX_ASSERT(txn);
        VMX_ASSERT(txn->erase(dbi_, encode_record_key(RecordKey{owner, record})));
        VMX_ASSERT(txn->commit());
    }
    // Runs fn(WriteTxn&) in one transaction and commits it.
    template <class Fn>
    void write(Fn&& fn) {
        auto txn = WriteTxn::begin(*env_);
        VMX_ASSERT(txn);
        fn(*txn);
        VMX_ASSERT(txn->commit());
    }
    std::size_t record_count() {
        auto txn = ReadTxn::begin(*env_);
        VMX_ASSERT(txn);
        auto cursor = Cursor::open(*txn, dbi_);
        VMX_ASSERT(cursor);
        std::size_t n = 0;
        for (auto e = cursor->first(); e && *e; e = cursor->next()) ++n;
        return n;
    }

    TempDir dir_;
    std::unique_ptr<StoreLayout> layout_;
    crypto::Keyring ring_;
    std::shared_ptr<const crypto::KeySet> keys_;
    std::unique_ptr<Env> env_;
    Dbi dbi_;
};

TEST_F(MailboxTest, AppendListReadRoundTrip) {
    const MailboxRef a = box(1001);
    const auto one = bytes("x");
    const auto big = body_of(1 << 20, 1);
    const auto odd = body_of(3 * body_chunk_bytes + 17, 2);
    EXPECT_EQ(append_one(a, one, t0), 1u);
    EXPECT_EQ(append_one(a, big, t0 + 5), 2u);
    EXPECT_EQ(append_one(a, {}, t0 + 6), 3u);
    EXPECT_EQ(append_one(a, odd, t0 + 7), 4u);

    auto listed = list(a);
    ASSERT_TRUE(listed) << listed.error().message();
    ASSERT_EQ(listed->size(), 4u);
    const std::uint64_t sizes[] = {1, 1 << 20, 0, 3 * body_chunk_bytes + 17};
    const std::int64_t times[] = {t0, t0 + 5, t0 + 6, t0 + 7};
    for (std::size_t i = 0; i < 4; ++i) {
        const MessageInfo& m = (*listed)[i];
        EXPECT_EQ(m.id, i + 1);
        EXPECT_EQ(m.size_bytes, sizes[i]);
        EXPECT_EQ(m.arrival_unix, times[i]);
        EXPECT_EQ(m.state, MessageState::live);
        EXPECT_EQ(m.uidl.size(), 18u);
        for (char c : m.uidl) EXPECT_TRUE(c > 0x20 && c < 0x7f);
        if (i > 0) {
            EXPECT_NE(m.uidl, (*listed)[i - 1].uidl);
        }
    }
    std::size_t chunks = 0;
    auto r1 = read_body(a, 1, &chunks);
    ASSERT_TRUE(r1) << r1.error().message();
    EXPECT_EQ(*r1, one);
    EXPECT_EQ(chunks, 1u);
    auto r2 = read_body(a, 2, &chunks);
    ASSERT_TRUE(r2) << r2.error().message();
    EXPECT_EQ(*r2, big);
    EXPECT_EQ(chunks, 16u);
    auto r3 = read_body(a, 3, &chunks);
    ASSERT_TRUE(r3);
    EXPECT_TRUE(r3->empty());
    EXPECT_EQ(chunks, 0u);
    auto r4 = read_body(a, 4, &chunks);
    ASSERT_TRUE(r4);
    EXPECT_EQ(*r4, odd);
    EXPECT_EQ(chunks, 4u);

    const MailboxState s = state(a);
    EXPECT_EQ(s.next_id, 5u);
    EXPECT_EQ(s.live_count, 4u);
    EXPECT_EQ(s.live_bytes, 1u + (1u << 20) + 3 * body_chunk_bytes + 17);
    // Another mailbox is separate.
    auto other = list(box(1002));
    ASSERT_TRUE(other);
    EXPECT_TRUE(other->empty());
    EXPECT_EQ(read_body(box(1002), 1).error(), StoreErrc::not_found);
}

TEST_F(MailboxTest, ReopenKeepsEverything) {
    const MailboxRef a = box(1001);
    const auto big = body_of(300000, 3);
    ASSERT_EQ(append_one(a, big), 1u);
    ASSERT_EQ(append_one(a, bytes("second")), 2u);
    auto before = list(a);
    ASSERT_TRUE(before);
    env_.reset();
    open_env();
    auto after = list(a);
    ASSERT_TRUE(after);
    ASSERT_EQ(after->size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ((*after)[i].uidl, (*before)[i].uidl);
        EXPECT_EQ((*after)[i].size_bytes, (*before)[i].size_bytes);
    }
    auto r = read_body(a, 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, big);
    EXPECT_EQ(append_one(a, bytes("third")), 3u);  // the counter survived too
}

TEST_F(MailboxTest, TrashRestoreAndPurgeFollowTime) {
    const MailboxRef a = box(1001);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(append_one(a, body_of(100000 + i, 10 + i)), static_cast<std::uint64_t>(i + 1));
    const auto uidl2 = list(a)->at(1).uidl;
    const std::size_t records_before = record_count();

    write([&](WriteTxn& txn) {
        ASSERT_TRUE(move_to_trash(txn, dbi_, *keys_, a, 2, t0 + 100));
        EXPECT_EQ(move_to_trash(txn, dbi_, *keys_, a, 2, t0 + 100).error(), StoreErrc::invalid_request);
        EXPECT_EQ(move_to_trash(txn, dbi_, *keys_, a, 9, t0 + 100).error(), StoreErrc::not_found);
    });

    auto live = list(a);
    ASSERT_TRUE(live);
    ASSERT_EQ(live->size(), 2u);  // list excludes trash
    EXPECT_EQ((*live)[0].id, 1u);
    EXPECT_EQ((*live)[1].id, 3u);
    auto all = list(a, ListTrash::include);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 3u);
    EXPECT_EQ((*all)[1].state, MessageState::trash);
    EXPECT_EQ((*all)[1].deleted_unix, t0 + 100);
    EXPECT_EQ(state(a).live_count, 2u);
    EXPECT_EQ(state(a).trash_count, 1u);
    EXPECT_EQ(state(a).trash_bytes, 100001u);

    write([&](WriteTxn& txn) {
        ASSERT_TRUE(restore(txn, dbi_, *keys_, a, 2));
        EXPECT_EQ(restore(txn, dbi_, *keys_, a, 2).error(), StoreErrc::invalid_request);
    });
    ASSERT_EQ(list(a)->size(), 3u);
    EXPECT_EQ(list(a)->at(1).uidl, uidl2);  // stable across trash and restore
    auto restored = read_body(a, 2);
    ASSERT_TRUE(restored);
    EXPECT_EQ(*restored, body_of(100001, 11));

    write([&](WriteTxn& txn) {
        ASSERT_TRUE(move_to_trash(txn, dbi_, *keys_, a, 2, t0 + 1000));
        ASSERT_TRUE(move_to_trash(txn, dbi_, *keys_, a, 3, t0 + 5000));
    });

    auto purge_at = [&](std::int64_t now) {
        auto w = WriteTxn::begin(*env_);
        VMX_ASSERT(w);
        auto n = purge(*w, dbi_, *keys_, a, now);
        VMX_ASSERT(n);
        VMX_ASSERT(w->commit());
        return *n;
    };
    EXPECT_EQ(purge_at(t0 + 1000 + 14 * day - 1), 0u);  // default retention: 14 days
    EXPECT_EQ(purge_at(t0 + 1000 + 14 * day), 1u);
    auto gone = ReadTxn::begin(*env_);
    ASSERT_TRUE(gone);
    EXPECT_EQ(message_info(*gone, dbi_, *keys_, a, 2).error(), StoreErrc::not_found);
    EXPECT_EQ(gone->get(dbi_, encode_record_key(RecordKey{a.user_id, chunk_record_of(2, 0)})).error(),
              StoreErrc::not_found);
    gone->reset();
    EXPECT_EQ(record_count(), records_before - 3);  // 2 chunks + metadata, state rewritten in place
    EXPECT_EQ(state(a).trash_count, 1u);
    EXPECT_EQ(state(a).trash_bytes, 100002u);
    EXPECT_EQ(state(a).live_count, 1u);

    auto w = WriteTxn::begin(*env_);
    ASSERT_TRUE(w);
    auto n = purge(*w, dbi_, *keys_, a, t0 + 5000 + 3 * day, 3 * day);  // a shorter retention
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    ASSERT_TRUE(w->commit());
    EXPECT_EQ(state(a).trash_count, 0u);
    EXPECT_EQ(state(a).trash_bytes, 0u);
    ASSERT_EQ(list(a, ListTrash::include)->size(), 1u);
    EXPECT_EQ(append_one(a, bytes("next")), 4u);  // ids are never reused
}

TEST_F(MailboxTest, PurgeIsBoundedPerCall) {
    const MailboxRef a = box(1001);
    for (int i = 0; i < 5; ++i) append_one(a, bytes("m" + std::to_string(i)));
    auto txn = WriteTxn::begin(*env_);
    ASSERT_TRUE(txn);
    for (std::uint64_t id = 1; id <= 5; ++id) ASSERT_TRUE(move_to_trash(*txn, dbi_, *keys_, a, id, t0));
    auto n = purge(*txn, dbi_, *keys_, a, t0 + 20 * day, trash_retention_default_s, 2);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 2u);
    n = purge(*txn, dbi_, *keys_, a, t0 + 20 * day, trash_retention_default_s, 10);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 3u);
    ASSERT_TRUE(txn->commit());
    EXPECT_EQ(record_count(), 1u);  // only the state record is left
}

TEST_F(MailboxTest, OverQuotaWritesNothing) {
    const MailboxRef a = box(1001);
    ASSERT_EQ(append_one(a, body_of(600, 1), t0, 1000), 1u);
    const std::size_t records = record_count();
    write([&](WriteTxn& txn) {
        auto id = append(txn, dbi_, *keys_, a, body_of(401, 2), AppendOptions{t0, 1000});
        ASSERT_FALSE(id);
        EXPECT_EQ(id.error(), StoreErrc::over_quota);
        EXPECT_EQ(id.error().message(), "mailbox over quota");
    });
    EXPECT_EQ(record_count(), records);
    EXPECT_EQ(state(a).live_bytes, 600u);
    EXPECT_EQ(state(a).next_id, 2u);
    EXPECT_EQ(append_one(a, body_of(400, 3), t0, 1000), 2u);  // exactly at the quota is fine

    // Trash does not count: deleting frees the space at once.
    write([&](WriteTxn& txn) { ASSERT_TRUE(move_to_trash(txn, dbi_, *keys_, a, 1, t0)); });
    EXPECT_EQ(append_one(a, body_of(500, 4), t0, 1000), 3u);
}

TEST_F(MailboxTest, RecordMovedToAnotherMailboxFails) {
    const MailboxRef a = box(1001);
    const MailboxRef b = box(1002);
    ASSERT_EQ(append_one(a, body_of(5000, 1)), 1u);
    ASSERT_EQ(append_one(b, bytes("b's own")), 1u);
    // Copy a's message (metadata and chunk) over b's message 1, and a's state over b's.
    raw_put(b.user_id, record_of(1, 1), raw_get(a.user_id, record_of(1, 1)));
    auto info = [&]() {
        auto txn = ReadTxn::begin(*env_);
        VMX_ASSERT(txn);
        return message_info(*txn, dbi_, *keys_, b, 1);
    };
    ASSERT_FALSE(info());
    EXPECT_EQ(info().error(), crypto::CryptoErrc::authentication_failed);
    EXPECT_FALSE(list(b));
    raw_put(b.user_id, chunk_record_of(1, 0), raw_get(a.user_id, chunk_record_of(1, 0)));
    EXPECT_FALSE(read_body(b, 1));
    raw_put(b.user_id, record_of(0, 15), raw_get(a.user_id, record_of(0, 15)));
    auto txn = ReadTxn::begin(*env_);
    ASSERT_TRUE(txn);
    EXPECT_FALSE(load_state(*txn, dbi_, *keys_, b));
    txn->reset();
    // a itself is untouched.
    auto r = read_body(a, 1);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, body_of(5000, 1));
}

TEST_F(MailboxTest, TamperedValuesFail) {
    const MailboxRef a = box(1001);
    ASSERT_EQ(append_one(a, body_of(200000, 1)), 1u);
    auto chunk = raw_get(a.user_id, chunk_record_of(1, 1));
    chunk[chunk.size() / 2] ^= 0x20;
    raw_put(a.user_id, chunk_record_of(1, 1), chunk);
    auto r = read_body(a, 1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), crypto::CryptoErrc::authentication_failed);
    auto meta = raw_get(a.user_id, record_of(1, 1));
    meta[meta.size() - 3] ^= 0x01;
    raw_put(a.user_id, record_of(1, 1), meta);
    EXPECT_FALSE(list(a));
}

TEST_F(MailboxTest, SwappedOrMissingChunksFail) {
    const MailboxRef a = box(1001);
    ASSERT_EQ(append_one(a, body_of(3 * body_chunk_bytes, 1)), 1u);
    ASSERT_EQ(append_one(a, body_of(3 * body_chunk_bytes, 2)), 2u);
    ASSERT_TRUE(read_body(a, 1));
    // Swap chunks 0 and 1 of message 1 (same length, both full): a continuation is no head.
    auto c0 = raw_get(a.user_id, chunk_record_of(1, 0));
    auto c1 = raw_get(a.user_id, chunk_record_of(1, 1));
    auto c2 = raw_get(a.user_id, chunk_record_of(1, 2));
    raw_put(a.user_id, chunk_record_of(1, 0), c1);
    raw_put(a.user_id, chunk_record_of(1, 1), c0);
    EXPECT_EQ(read_body(a, 1).error(), crypto::CryptoErrc::bad_record);
    raw_put(a.user_id, chunk_record_of(1, 0), c0);
    // Swap chunks 1 and 2 (the final one): their indexes and flags are sealed.
    raw_put(a.user_id, chunk_record_of(1, 1), c2);
    raw_put(a.user_id, chunk_record_of(1, 2), c1);
    EXPECT_EQ(read_body(a, 1).error(), crypto::CryptoErrc::authentication_failed);
    raw_put(a.user_id, chunk_record_of(1, 2), c2);
    // Message 2's chunk 1 in message 1's body: another stream, another key.
    raw_put(a.user_id, chunk_record_of(1, 1), raw_get(a.user_id, chunk_record_of(2, 1)));
    EXPECT_EQ(read_body(a, 1).error(), crypto::CryptoErrc::authentication_failed);
    // Put back, then take message 2's chunk 0 as message 1's chunk 0.
    raw_put(a.user_id, chunk_record_of(1, 1), c1);
    ASSERT_TRUE(read_body(a, 1));
    raw_put(a.user_id, chunk_record_of(1, 0), raw_get(a.user_id, chunk_record_of(2, 0)));
    EXPECT_EQ(read_body(a, 1).error(), crypto::CryptoErrc::authentication_failed);
    raw_put(a.user_id, chunk_record_of(1, 0), c0);
    ASSERT_TRUE(read_body(a, 1));
    // A dropped last chunk is caught by the sealed chunk count.
    raw_erase(a.user_id, chunk_record_of(2, 2));
    EXPECT_EQ(read_body(a, 2).error(), StoreErrc::corrupt);
    // A metadata record in a chunk's place (or the reverse) does not open either.
    raw_put(a.user_id, chunk_record_of(2, 2), raw_get(a.user_id, record_of(2, 1)));
    EXPECT_FALSE(read_body(a, 2));
}

// A body written by an older build has a version 1 record per chunk, each under its own identity:
// it still reads, the rewrap job upgrades every chunk to version 2, and it reads the same after.
// A body written today (one stream) goes through a rotation with only its head rewrapped.
TEST_F(MailboxTest, OlderBodiesReadAndTheRewrapJobUpgradesThem) {
    const MailboxRef a = box(1001);
    const auto old_body = body_of(2 * body_chunk_bytes + 100, 7);
    const auto new_body = body_of(3 * body_chunk_bytes, 8);
    ASSERT_EQ(append_one(a, old_body), 1u);
    ASSERT_EQ(append_one(a, new_body), 2u);
    // Rewrite message 1's chunks the way version 1 wrote them.
    auto active = keys_->active(a.scope);
    ASSERT_TRUE(active);
    for (std::uint32_t c = 0; c < 3; ++c) {
        const std::size_t at = std::size_t{c} * body_chunk_bytes;
        const auto piece = std::span<const std::uint8_t>(old_body).subspan(at, std::min(body_chunk_bytes, old_body.size() - at));
        auto encoded = encode_value(piece, Compress::never);
        ASSERT_TRUE(encoded);
        crypto::RecordIdentity id = identity_of(crypto::StoreKind::mail, 0, RecordKey{a.user_id, chunk_record_of(1, c)});
        id.key = active->ref;
        std::array<std::uint8_t, 32> dek{};
        std::array<std::uint8_t, 12> iv{};
        ASSERT_TRUE(crypto::random_bytes(dek) && crypto::random_bytes(iv));
        raw_put(a.user_id, chunk_record_of(1, c), vmx::testing::seal_v1(active->key, id, *encoded, dek, iv));
    }
    ASSERT_EQ(raw_get(a.user_id, chunk_record_of(1, 1))[2], 1);
    EXPECT_EQ(*read_body(a, 1), old_body);
    EXPECT_EQ(*read_body(a, 2), new_body);

    // Rotate the key and run the job: v1 chunks are upgraded, the stream's head rewrapped.
    const auto continuation = raw_get(a.user_id, chunk_record_of(2, 1));
    ASSERT_TRUE(ring_.rotate(active->ref.key_id, t0 + 1));
    keys_ = ring_.snapshot();
    auto jobs = env_->open_dbi("jobs");
    ASSERT_TRUE(jobs);
    RewrapJob job(*env_, dbi_, *jobs, crypto::StoreKind::mail, 0, "test",
                  [&](std::uint64_t owner) { return std::optional<crypto::Scope>(scope_of(owner)); });
    for (int i = 0; i < 100 && !job.progress().done; ++i) ASSERT_TRUE(job.step(*keys_, 16));
    ASSERT_TRUE(job.progress().done);
    EXPECT_EQ(job.progress().failed, 0u);
    ASSERT_TRUE(ring_.finish_retirement(active->ref));
    keys_ = ring_.snapshot();
    for (std::uint32_t c = 0; c < 3; ++c) {
        auto shape = crypto::peek_shape(raw_get(a.user_id, chunk_record_of(1, c)));
        ASSERT_TRUE(shape);
        EXPECT_EQ(shape->version, 2);
        EXPECT_TRUE(shape->head && shape->final) << c;  // each old chunk is a record of its own
    }
    EXPECT_EQ(raw_get(a.user_id, chunk_record_of(2, 1)), continuation);
    EXPECT_EQ(*read_body(a, 1), old_body);
    EXPECT_EQ(*read_body(a, 2), new_body);
}

// Submits ops as one request and waits for the lane's outcome.
std::error_code commit_through(Lane& lane, std::vector<WriteOp> ops, std::uint64_t token) {
    WriteRequest request;
    request.token = token;
    request.ops = std::move(ops);
    VMX_ASSERT(lane.submit(request));
    std::vector<WriteResult> got;
    while (got.empty()) {
        pollfd p{lane.result_fd(), POLLIN, 0};
        VMX_ASSERT(::poll(&p, 1, 10000) == 1);
        lane.acknowledge_wake();
        lane.drain_results([&](WriteResult&& r) { got.push_back(r); });
    }
    EXPECT_EQ(got[0].token, token);
    return got[0].error;
}

// The mailbox's writer, loaded from what is committed; the read transaction is reset for reuse.
std::optional<MailboxWriter> load_writer(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box) {
    auto writer = MailboxWriter::load(txn, dbi, keys, box);
    EXPECT_TRUE(writer) << writer.error().message();
    txn.reset();
    if (!writer) return std::nullopt;
    return std::move(*writer);
}

TEST_F(MailboxTest, AppendsThroughTheStoreLane) {
    const MailboxRef a = box(1001);
    Lane lane({env_.get()}, LaneOptions{});
    ASSERT_TRUE(lane.start());
    auto rtxn = ReadTxn::begin(*env_);
    ASSERT_TRUE(rtxn);
    auto writer = load_writer(*rtxn, dbi_, *keys_, a);
    ASSERT_TRUE(writer);

    auto submit_and_wait = [&](MailboxChange& change, std::uint64_t token) {
        return commit_through(lane, std::move(change.ops), token);
    };

    const auto body1 = body_of(200000, 7);
    auto c1 = writer->append(*keys_, body1, AppendOptions{t0, 0});
    ASSERT_TRUE(c1) << c1.error().message();
    EXPECT_EQ(c1->id, 1u);
    EXPECT_EQ(c1->ops.size(), 1u + 4u + 2u);  // the state's guard, 4 chunks, metadata, state
    ASSERT_TRUE(rtxn->renew());
    EXPECT_EQ(writer->move_to_trash(*rtxn, *keys_, 1, t0).error(), StoreErrc::busy);  // one change in flight
    rtxn->reset();
    const auto e1 = submit_and_wait(*c1, 1);
    EXPECT_FALSE(e1) << e1.message();
    writer->done(e1);
    EXPECT_EQ(writer->state().next_id, 2u);

    // A change the lane failed is forgotten: the next append takes the same id.
    auto c2 = writer->append(*keys_, bytes("lost"), AppendOptions{t0, 0});
    ASSERT_TRUE(c2);
    writer->done(make_error_code(StoreErrc::map_full));
    auto c3 = writer->append(*keys_, bytes("kept"), AppendOptions{t0 + 1, 0});
    ASSERT_TRUE(c3);
    EXPECT_EQ(c3->id, 2u);
    const auto e3 = submit_and_wait(*c3, 3);
    EXPECT_FALSE(e3);
    writer->done(e3);

    ASSERT_TRUE(rtxn->renew());
    auto c4 = writer->move_to_trash(*rtxn, *keys_, 1, t0 + 50);
    rtxn->reset();
    ASSERT_TRUE(c4);
    const auto e4 = submit_and_wait(*c4, 4);
    EXPECT_FALSE(e4);
    writer->done(e4);

    auto listed = list(a);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].id, 2u);
    auto r = read_body(a, 2);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, bytes("kept"));
    auto trashed = read_body(a, 1);
    ASSERT_TRUE(trashed);
    EXPECT_EQ(*trashed, body1);
    const MailboxState s = state(a);
    EXPECT_EQ(s.next_id, 3u);
    EXPECT_EQ(s.live_bytes, 4u);
    EXPECT_EQ(s.trash_bytes, 200000u);
    EXPECT_EQ(s.uidl_prefix, writer->state().uidl_prefix);

    // The retention sweep through the lane: nothing yet, then message 1 with its chunks.
    ASSERT_TRUE(rtxn->renew());
    auto early = writer->purge(*rtxn, *keys_, t0 + 50 + 14 * day - 1);
    ASSERT_TRUE(early);
    EXPECT_TRUE(early->ops.empty());
    EXPECT_FALSE(writer->pending());
    auto c5 = writer->purge(*rtxn, *keys_, t0 + 50 + 14 * day);
    rtxn->reset();
    ASSERT_TRUE(c5);
    EXPECT_EQ(c5->purged, 1u);
    EXPECT_EQ(c5->ops.size(), 1u + 4u + 1u + 1u);  // guard, 4 chunks and metadata erased, state written
    const auto e5 = submit_and_wait(*c5, 5);
    EXPECT_FALSE(e5);
    writer->done(e5);
    EXPECT_EQ(list(a, ListTrash::include)->size(), 1u);
    EXPECT_EQ(state(a).trash_bytes, 0u);
    EXPECT_EQ(record_count(), 3u);  // message 2: one chunk, metadata; the state
    EXPECT_EQ(lane.stats().failed_commits.load(), 0u);
}

}  // namespace
// Appends chained while appends are pending go in one request: consecutive ids, committed or
// forgotten together, and nothing but another append may chain on them.

// Two writers of one mailbox (two nodes of a shared store): the second one's change, planned on the
// state before the first one's commit, fails with conflict and writes nothing; loaded again, it
// appends after the first, and both messages are there.
TEST_F(MailboxTest, AWriterBehindAnotherChangeGetsConflictAndNothingIsLost) {
    const MailboxRef a = box(1001);
    Lane lane({env_.get()}, LaneOptions{});
    ASSERT_TRUE(lane.start());
    ASSERT_NE(append_one(a, bytes("first, before both writers")), 0u);
    auto rtxn = ReadTxn::begin(*env_);
    ASSERT_TRUE(rtxn);
    auto node_a = load_writer(*rtxn, dbi_, *keys_, a);
    ASSERT_TRUE(rtxn->renew());
    auto node_b = load_writer(*rtxn, dbi_, *keys_, a);
    ASSERT_TRUE(node_a && node_b);

    auto from_a = node_a->append(*keys_, bytes("from node a"), AppendOptions{t0, 0});
    auto from_b = node_b->append(*keys_, bytes("from node b"), AppendOptions{t0, 0});
    ASSERT_TRUE(from_a && from_b);
    EXPECT_EQ(from_a->id, from_b->id);  // both planned the same next id
    const auto ea = commit_through(lane, std::move(from_a->ops), 1);
    EXPECT_FALSE(ea) << ea.message();
    node_a->done(ea);
    const auto eb = commit_through(lane, std::move(from_b->ops), 2);
    EXPECT_EQ(eb, StoreErrc::conflict);
    node_b->done(eb);

    ASSERT_TRUE(rtxn->renew());
    auto reloaded = load_writer(*rtxn, dbi_, *keys_, a);
    ASSERT_TRUE(reloaded);
    auto again = reloaded->append(*keys_, bytes("from node b"), AppendOptions{t0, 0});
    ASSERT_TRUE(again);
    const auto e2 = commit_through(lane, std::move(again->ops), 3);
    EXPECT_FALSE(e2) << e2.message();
    reloaded->done(e2);

    EXPECT_EQ(*read_body(a, 2), bytes("from node a"));
    EXPECT_EQ(*read_body(a, 3), bytes("from node b"));
    ASSERT_TRUE(rtxn->renew());
    auto listed = list_messages(*rtxn, dbi_, *keys_, a);
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->size(), 3u);
}
TEST_F(MailboxTest, ChainedAppendsCommitOrFailTogether) {
    const MailboxRef a = box(1002);
    Lane lane({env_.get()}, LaneOptions{});
    ASSERT_TRUE(lane.start());
    auto rtxn = ReadTxn::begin(*env_);
    ASSERT_TRUE(rtxn);
    auto writer = load_writer(*rtxn, dbi_, *keys_, a);
    ASSERT_TRUE(writer);
    auto commit = [&](std::vector<WriteOp> ops) { return commit_through(lane, std::move(ops), 1); };
    auto chain = [&](std::initializer_list<const char*> bodies, std::vector<std::uint64_t>& ids) {
        std::vector<WriteOp> ops;
        for (const char* b : bodies) {
            auto c = writer->append(*keys_, bytes(b), AppendOptions{t0, 0});
            VMX_ASSERT(c.has_value());
            ids.push_back(c->id);
            ops.insert(ops.end(), std::make_move_iterator(c->ops.begin()), std::make_move_iterator(c->ops.end()));
        }
        return ops;
    };

    std::vector<std::uint64_t> lost;
    (void)chain({"one", "two"}, lost);
    EXPECT_EQ(lost, (std::vector<std::uint64_t>{1, 2}));
    ASSERT_TRUE(rtxn->renew());
    EXPECT_EQ(writer->restore(*rtxn, *keys_, 1).error(), StoreErrc::busy);
    rtxn->reset();
    writer->done(make_error_code(StoreErrc::map_full));  // the request failed: both are forgotten

    std::vector<std::uint64_t> kept;
    auto ops = chain({"first", "second", "third"}, kept);
    EXPECT_EQ(kept, (std::vector<std::uint64_t>{1, 2, 3}));
    const auto e = commit(std::move(ops));
    EXPECT_FALSE(e) << e.message();
    writer->done(e);
    EXPECT_EQ(writer->state().next_id, 4u);
    auto listed = list(a);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->size(), 3u);
    EXPECT_EQ(*read_body(a, 2), bytes("second"));
    const MailboxState s = state(a);
    EXPECT_EQ(s.live_count, 3u);
    EXPECT_EQ(s.live_bytes, 16u);
    EXPECT_EQ(s.next_id, 4u);
}

}  // namespace vmx::store
