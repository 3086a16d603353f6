// Envelope encoding (round trip, truncation, limits) and the smtp queues: enqueue, list, load,
// update, remove, reopen, monotonic ids, tamper detection, lane ops, and the exactly-once hand-off
// to mailboxes across a simulated crash (delivery markers + recovery).
#include "tests/support/test_keys.h"
#include "store/queue.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>

#include "crypto/errc.h"
#include "store/envelope.h"
#include "store/errc.h"
#include "store/record_key.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;
using testing::text;

constexpr std::int64_t now_unix = 1'790'000'000;

std::shared_ptr<const crypto::KeySet> test_keys() {
    auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(0x40));
    VMX_ASSERT(ring.ensure_scope_key(queue_scope, now_unix));
    VMX_ASSERT(ring.ensure_scope_key(crypto::Scope{crypto::ScopeKind::user, 42}, now_unix));
    return ring.snapshot();
}

Envelope sample_envelope(std::size_t recipients = 3) {
    Envelope e;
    e.sender = "alice@example.org";
    e.arrival_unix = now_unix;
    e.client_address = "[2001:db8::1]:51234";
    e.tls_version = "TLSv1.3";
    e.tls_cipher = "TLS_AES_256_GCM_SHA384";
    e.message_id = "<20261123.1234@example.org>";
    for (std::size_t i = 0; i < recipients; ++i) {
        Recipient r;
        r.address = "user" + std::to_string(i) + "@example.net";
        r.user_id = 100 + i;
        e.recipients.push_back(r);
    }
    return e;
}

// ---- envelope ----

TEST(EnvelopeTest, RoundTripEveryState) {
    Envelope e = sample_envelope(4);
    e.recipients[1].state = RecipientState::delivered;
    e.recipients[2].state = RecipientState::failed_temp;
    e.recipients[2].attempts = 3;
    e.recipients[2].next_try_unix = now_unix + 900;
    e.recipients[2].reply = "451 4.3.0 try later";
    e.recipients[3].state = RecipientState::failed_perm;
    e.recipients[3].reply = "550-5.1.1 no such user\r\n550 5.1.1 really";
    e.recipients[3].user_id = 0;
    auto encoded = encode_envelope(e);
    ASSERT_TRUE(encoded);
    auto decoded = decode_envelope(*encoded);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(*decoded, e);
    EXPECT_FALSE(decoded->done());

    Envelope plain = sample_envelope(1);  // null sender, no TLS
    plain.sender.clear();
    plain.tls_version.clear();
    plain.tls_cipher.clear();
    plain.recipients[0].state = RecipientState::delivered;
    auto again = decode_envelope(*encode_envelope(plain));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, plain);
    EXPECT_TRUE(again->done());
}

TEST(EnvelopeTest, EveryTruncationAndAnyTrailingByteFails) {
    auto encoded = encode_envelope(sample_envelope(3));
    ASSERT_TRUE(encoded);
    for (std::size_t n = 0; n < encoded->size(); ++n) {
        auto r = decode_envelope(std::span<const std::uint8_t>(encoded->data(), n));
        ASSERT_FALSE(r) << n;
        EXPECT_EQ(r.error(), StoreErrc::corrupt);
    }
    auto longer = *encoded;
    longer.push_back(0);
    EXPECT_FALSE(decode_envelope(longer));
    auto other_version = *encoded;
    other_version[0] = 2;
    EXPECT_FALSE(decode_envelope(other_version));
}

TEST(EnvelopeTest, LimitsEnforcedBothWays) {
    Envelope many = sample_envelope(envelope_recipients_max);
    ASSERT_TRUE(encode_envelope(many));
    many.recipients.push_back(many.recipients.back());
    EXPECT_EQ(encode_envelope(many).error(), StoreErrc::invalid_request);

    Envelope none = sample_envelope(0);
    EXPECT_FALSE(encode_envelope(none));

    Envelope address = sample_envelope(1);
    address.recipients[0].address = std::string(envelope_address_bytes_max - 12, 'a') + "@example.net";
    ASSERT_TRUE(encode_envelope(address));
    address.recipients[0].address.insert(0, "b");
    EXPECT_FALSE(encode_envelope(address));

    Envelope sender = sample_envelope(1);
    sender.sender = std::string(envelope_address_bytes_max + 1, 's');
    EXPECT_FALSE(encode_envelope(sender));

    Envelope control = sample_envelope(1);
    control.recipients[0].address = "a@b\r\nRCPT TO:<x@y>";
    EXPECT_FALSE(encode_envelope(control));
    Envelope empty_rcpt = sample_envelope(1);
    empty_rcpt.recipients[0].address.clear();
    EXPECT_FALSE(encode_envelope(empty_rcpt));

    // A hand-made encoding that claims 1001 recipients is refused before anything is read.
    auto encoded = encode_envelope(sample_envelope(1));
    ASSERT_TRUE(encoded);
    // Recipient count sits after version, arrival and five strings.
    std::size_t pos = 1 + 8;
    for (int i = 0; i < 5; ++i) pos += 2 + ((*encoded)[pos] | (*encoded)[pos + 1] << 8);
    (*encoded)[pos] = static_cast<std::uint8_t>(1001 & 0xff);
    (*encoded)[pos + 1] = static_cast<std::uint8_t>(1001 >> 8);
    EXPECT_FALSE(decode_envelope(*encoded));
    // An address length over 320 in the stream is refused too.
    auto long_address = encode_envelope(sample_envelope(1));
    (*long_address)[pos + 2] = 0x41;  // address length low byte: 0x141 = 321
    (*long_address)[pos + 3] = 0x01;
    EXPECT_FALSE(decode_envelope(*long_address));
    // An unknown recipient state.
    auto state = encode_envelope(sample_envelope(1));
    const std::size_t addr_len = (*state)[pos + 2] | (*state)[pos + 3] << 8;
    (*state)[pos + 4 + addr_len] = 4;
    EXPECT_FALSE(decode_envelope(*state));
}

// ---- queue ----

struct QueueFixture {
    explicit QueueFixture(const TempDir& d) : dir(d) { open(); }
    void open() {
        EnvOptions o;
        o.map_bytes = std::size_t{16} << 20;
        o.map_bytes_max = std::size_t{16} << 20;
        auto e = testing::open_test_env(dir.sub("smtp-in"), o);
        VMX_ASSERT(e);
        env = std::move(*e);
        auto q = Queue::open(*env, QueueKind::smtp_in, 5);
        VMX_ASSERT(q);
        queue = std::make_unique<Queue>(std::move(*q));
    }
    void close() {
        queue.reset();
        env.reset();
    }
    std::uint64_t enqueue(const Envelope& e, const std::string& body) {
        auto txn = WriteTxn::begin(*env);
        VMX_ASSERT(txn);
        auto id = queue->enqueue(*txn, *keys, e, bytes(body));
        VMX_ASSERT(id);
        VMX_ASSERT(txn->commit());
        return *id;
    }
    const TempDir& dir;
    std::shared_ptr<const crypto::KeySet> keys = test_keys();
    std::unique_ptr<Env> env;
    std::unique_ptr<Queue> queue;
};

TEST(QueueTest, EnqueueListLoadUpdateRemove) {
    TempDir dir;
    QueueFixture f(dir);
    const std::string body = "Subject: hi\r\n\r\nqueue body marker QX7\r\n";
    const std::uint64_t a = f.enqueue(sample_envelope(2), body);
    const std::uint64_t b = f.enqueue(sample_envelope(1), body + "second");
    EXPECT_EQ(a, 1u);
    EXPECT_EQ(b, 2u);
    {
        auto r = ReadTxn::begin(*f.env);
        ASSERT_TRUE(r);
        auto ids = f.queue->list(*r, 0, 100);
        ASSERT_TRUE(ids);
        EXPECT_EQ(*ids, (std::vector<std::uint64_t>{a, b}));
        auto after = f.queue->list(*r, a, 100);
        ASSERT_TRUE(after);
        EXPECT_EQ(*after, (std::vector<std::uint64_t>{b}));
        auto envelope = f.queue->load_envelope(*r, *f.keys, a);
        ASSERT_TRUE(envelope);
        EXPECT_EQ(*envelope, sample_envelope(2));
        auto loaded = f.queue->load_body(*r, *f.keys, b);
        ASSERT_TRUE(loaded);
        EXPECT_EQ(text(*loaded), body + "second");
        EXPECT_EQ(f.queue->load_envelope(*r, *f.keys, 99).error(), StoreErrc::not_found);
    }
    {
        auto w = WriteTxn::begin(*f.env);
        ASSERT_TRUE(w);
        Envelope e = sample_envelope(2);
        e.recipients[0].state = RecipientState::delivered;
        e.recipients[1].state = RecipientState::failed_temp;
        e.recipients[1].attempts = 1;
        ASSERT_TRUE(f.queue->update(*w, *f.keys, a, e));
        ASSERT_TRUE(f.queue->remove(*w, b));
        EXPECT_EQ(f.queue->update(*w, *f.keys, b, e).error(), StoreErrc::not_found);  // no resurrection
        ASSERT_TRUE(w->commit());
    }
    auto r = ReadTxn::begin(*f.env);
    ASSERT_TRUE(r);
    auto ids = f.queue->list(*r, 0, 100);
    ASSERT_TRUE(ids);
    EXPECT_EQ(*ids, (std::vector<std::uint64_t>{a}));
    auto envelope = f.queue->load_envelope(*r, *f.keys, a);
    ASSERT_TRUE(envelope);
    EXPECT_EQ(envelope->recipients[0].state, RecipientState::delivered);
    EXPECT_EQ(envelope->recipients[1].attempts, 1u);
    EXPECT_EQ(f.queue->load_body(*r, *f.keys, b).error(), StoreErrc::not_found);
}

TEST(QueueTest, ReopenKeepsEntriesAndIdsStayMonotonic) {
    TempDir dir;
    QueueFixture f(dir);
    const std::uint64_t a = f.enqueue(sample_envelope(1), "one");
    const std::uint64_t b = f.enqueue(sample_envelope(1), "two");
    {
        auto w = WriteTxn::begin(*f.env);
        ASSERT_TRUE(w);
        ASSERT_TRUE(f.queue->remove(*w, b));  // the highest id is gone: the counter still remembers it
        ASSERT_TRUE(w->commit());
    }
    f.close();
    f.open();
    EXPECT_EQ(f.queue->next_id(), b + 1);
    const std::uint64_t c = f.enqueue(sample_envelope(1), "three");
    EXPECT_GT(c, b);
    auto r = ReadTxn::begin(*f.env);
    ASSERT_TRUE(r);
    auto body = f.queue->load_body(*r, *f.keys, a);
    ASSERT_TRUE(body);
    EXPECT_EQ(text(*body), "one");
    auto ids = f.queue->list(*r, 0, 10);
    ASSERT_TRUE(ids);
    EXPECT_EQ(*ids, (std::vector<std::uint64_t>{a, c}));
}

TEST(QueueTest, TamperedOrSwappedRecordFailsToOpen) {
    TempDir dir;
    QueueFixture f(dir);
    const std::uint64_t a = f.enqueue(sample_envelope(2), "body a");
    const std::uint64_t b = f.enqueue(sample_envelope(1), "body b");
    const auto env_key = [](std::uint64_t id, std::uint8_t part) {
        return encode_record_key(RecordKey{queue_owner, record_of(id, part)});
    };
    {
        auto w = WriteTxn::begin(*f.env);
        ASSERT_TRUE(w);
        auto sealed = w->get(f.queue->records(), env_key(a, queue_part_envelope));
        ASSERT_TRUE(sealed);
        std::vector<std::uint8_t> flipped(sealed->begin(), sealed->end());
        flipped[flipped.size() - 20] ^= 0x01;
        std::vector<std::uint8_t> b_envelope;
        auto sb = w->get(f.queue->records(), env_key(b, queue_part_envelope));
        ASSERT_TRUE(sb);
        b_envelope.assign(sb->begin(), sb->end());
        auto body_b = w->get(f.queue->records(), env_key(b, queue_part_body));
        ASSERT_TRUE(body_b);
        std::vector<std::uint8_t> b_body(body_b->begin(), body_b->end());
        ASSERT_TRUE(w->put(f.queue->records(), env_key(a, queue_part_envelope), flipped));
        // b's body put where b's envelope belongs: same entry, other part.
        ASSERT_TRUE(w->put(f.queue->records(), env_key(b, queue_part_envelope), b_body));
        // b's envelope copied into a's body slot: another entry.
        ASSERT_TRUE(w->put(f.queue->records(), env_key(a, queue_part_body), b_envelope));
        ASSERT_TRUE(w->commit());
    }
    auto r = ReadTxn::begin(*f.env);
    ASSERT_TRUE(r);
    EXPECT_EQ(f.queue->load_envelope(*r, *f.keys, a).error(), crypto::CryptoErrc::authentication_failed);
    EXPECT_EQ(f.queue->load_envelope(*r, *f.keys, b).error(), crypto::CryptoErrc::authentication_failed);
    EXPECT_EQ(f.queue->load_body(*r, *f.keys, a).error(), crypto::CryptoErrc::authentication_failed);
    // recover() reports the damaged entries rather than dropping them silently.
    auto batch = recover(*f.queue, *r, *f.keys);
    ASSERT_TRUE(batch);
    EXPECT_TRUE(batch->entries.empty());
    ASSERT_EQ(batch->failed.size(), 2u);
    EXPECT_EQ(batch->failed[0].first, a);
    EXPECT_EQ(batch->failed[1].first, b);
    EXPECT_TRUE(batch->complete);
}

TEST(QueueTest, LaneOpsCommitAnEntry) {
    TempDir dir;
    QueueFixture f(dir);
    Lane lane({f.env.get()}, LaneOptions{});
    ASSERT_TRUE(lane.start());
    auto prepared = f.queue->prepare_enqueue(*f.keys, sample_envelope(2), bytes("via the lane"));
    ASSERT_TRUE(prepared);
    WriteRequest request;
    request.env = 0;
    request.token = 9;
    request.ops = std::move(prepared->ops);
    ASSERT_TRUE(lane.submit(request));
    std::vector<WriteResult> got;
    for (int i = 0; i < 500 && got.empty(); ++i) {
        lane.drain_results([&](WriteResult&& w) { got.push_back(w); });
        if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_EQ(got.size(), 1u);
    EXPECT_FALSE(got[0].error) << got[0].error.message();
    auto r = ReadTxn::begin(*f.env);
    ASSERT_TRUE(r);
    auto body = f.queue->load_body(*r, *f.keys, prepared->entry_id);
    ASSERT_TRUE(body);
    EXPECT_EQ(text(*body), "via the lane");
    // Over the body limit: refused before an id is taken.
    QueueLimits small;
    small.body_bytes_max = 4;
    auto q2 = Queue::open(*f.env, QueueKind::smtp_in, 5, small);
    ASSERT_TRUE(q2);
    const auto before = q2->next_id();
    EXPECT_EQ(q2->prepare_enqueue(*f.keys, sample_envelope(1), bytes("12345")).error(), StoreErrc::invalid_request);
    EXPECT_EQ(q2->next_id(), before);
}

// ---- exactly-once hand-off ----

// A stand-in mailbox in the mail environment: appended messages under (user, sequence).
struct FakeMail {
    explicit FakeMail(const TempDir& d) : dir(d) { open(); }
    void open() {
        EnvOptions o;
        o.map_bytes = std::size_t{16} << 20;
        o.map_bytes_max = std::size_t{16} << 20;
        auto e = testing::open_test_env(dir.sub("mail"), o);
        VMX_ASSERT(e);
        env = std::move(*e);
        auto m = DeliveryMarkers::open(*env);
        VMX_ASSERT(m);
        markers = *m;
        auto d2 = env->open_dbi("fake_mailbox");
        VMX_ASSERT(d2);
        mailbox = *d2;
    }
    void close() { env.reset(); }

    // The deliverer's step 1: one transaction holds the marker check, the append and the marker.
    // Returns true when it appended.
    bool hand_off(const DeliveryMarker& m, const Recipient& r, std::span<const std::uint8_t> body) {
        auto txn = WriteTxn::begin(*env);
        VMX_ASSERT(txn);
        auto done = already_delivered(*txn, markers, m);
        VMX_ASSERT(done);
        if (*done) return false;
        const std::uint64_t message_id = ++appended_total;
        const auto key = encode_record_key(RecordKey{r.user_id, record_of(message_id, 0)});
        VMX_ASSERT(txn->put(mailbox, key, body));
        VMX_ASSERT(mark_delivered(*txn, markers, m, now_unix, message_id));
        VMX_ASSERT(txn->commit());
        return true;
    }
    std::map<std::uint64_t, int> per_user() {
        std::map<std::uint64_t, int> out;
        auto r = ReadTxn::begin(*env);
        VMX_ASSERT(r);
        auto c = Cursor::open(*r, mailbox);
        VMX_ASSERT(c);
        for (auto e = c->first(); e && *e; e = c->next()) ++out[decode_record_key((*e)->key)->owner];
        return out;
    }
    std::size_t marker_count() {
        auto r = ReadTxn::begin(*env);
        VMX_ASSERT(r);
        auto c = Cursor::open(*r, markers.dbi);
        VMX_ASSERT(c);
        std::size_t n = 0;
        for (auto e = c->first(); e && *e; e = c->next()) ++n;
        return n;
    }

    const TempDir& dir;
    std::unique_ptr<Env> env;
    DeliveryMarkers markers;
    Dbi mailbox;
    std::uint64_t appended_total = 0;
};

TEST(HandOffTest, CrashBetweenAppendAndQueueUpdateDeliversExactlyOnce) {
    TempDir dir;
    QueueFixture q(dir);
    FakeMail mail(dir);
    constexpr std::size_t recipients = 5;
    const std::uint64_t e1 = q.enqueue(sample_envelope(recipients), "message one");
    const std::uint64_t e2 = q.enqueue(sample_envelope(2), "message two");

    // Entry 1: recipients 0..2 handed off (marker + append committed), and only recipient 0's state
    // reached the queue; then the process "crashes": nothing else is written, everything closed.
    {
        auto r = ReadTxn::begin(*q.env);
        ASSERT_TRUE(r);
        auto envelope = q.queue->load_envelope(*r, *q.keys, e1);
        ASSERT_TRUE(envelope);
        auto body = q.queue->load_body(*r, *q.keys, e1);
        ASSERT_TRUE(body);
        for (std::uint16_t i = 0; i < 3; ++i) {
            EXPECT_TRUE(mail.hand_off({QueueKind::smtp_in, 5, e1, i}, envelope->recipients[i], *body));
        }
        r->reset();
        auto w = WriteTxn::begin(*q.env);
        ASSERT_TRUE(w);
        envelope->recipients[0].state = RecipientState::delivered;
        ASSERT_TRUE(q.queue->update(*w, *q.keys, e1, *envelope));
        ASSERT_TRUE(w->commit());
    }
    q.close();
    mail.close();

    // Restart: recover, then redo every hand-off of every entry that still has work.
    q.open();
    mail.open();
    std::vector<QueuedEntry> work;
    {
        auto r = ReadTxn::begin(*q.env);
        ASSERT_TRUE(r);
        auto batch = recover(*q.queue, *r, *q.keys);
        ASSERT_TRUE(batch) << batch.error().message();
        EXPECT_TRUE(batch->complete);
        work = batch->entries;
    }
    ASSERT_EQ(work.size(), 2u);
    EXPECT_EQ(work[0].id, e1);
    EXPECT_EQ(work[1].id, e2);
    int appended_after_restart = 0;
    for (QueuedEntry& entry : work) {
        std::vector<std::uint8_t> body;
        {
            auto r = ReadTxn::begin(*q.env);
            ASSERT_TRUE(r);
            auto b = q.queue->load_body(*r, *q.keys, entry.id);
            ASSERT_TRUE(b);
            body = *b;
        }
        for (std::size_t i = 0; i < entry.envelope.recipients.size(); ++i) {
            Recipient& rc = entry.envelope.recipients[i];
            if (rc.done()) continue;
            if (mail.hand_off({QueueKind::smtp_in, 5, entry.id, static_cast<std::uint16_t>(i)}, rc, body)) {
                ++appended_after_restart;
            }
            rc.state = RecipientState::delivered;  // step 2, after step 1 is durable
        }
        auto w = WriteTxn::begin(*q.env);
        ASSERT_TRUE(w);
        ASSERT_TRUE(q.queue->update(*w, *q.keys, entry.id, entry.envelope));
        ASSERT_TRUE(w->commit());
    }
    // Recipients 1 and 2 of entry 1 had markers: not appended again. 2 + 2 new hand-offs.
    EXPECT_EQ(appended_after_restart, 4);
    const auto counts = mail.per_user();
    for (std::size_t i = 0; i < recipients; ++i) EXPECT_EQ(counts.at(100 + i), i < 2 ? 2 : 1) << i;  // e2 goes to 100, 101
    EXPECT_EQ(mail.marker_count(), recipients + 2);

    // A second recovery finds nothing left; removing the entries then their markers leaves none.
    {
        auto r = ReadTxn::begin(*q.env);
        ASSERT_TRUE(r);
        auto batch = recover(*q.queue, *r, *q.keys);
        ASSERT_TRUE(batch);
        EXPECT_TRUE(batch->entries.empty());
    }
    for (std::uint64_t id : {e1, e2}) {
        auto w = WriteTxn::begin(*q.env);
        ASSERT_TRUE(w);
        ASSERT_TRUE(q.queue->remove(*w, id));
        ASSERT_TRUE(w->commit());
        auto m = WriteTxn::begin(*mail.env);
        ASSERT_TRUE(m);
        auto removed = remove_markers(*m, mail.markers, QueueKind::smtp_in, 5, id);
        ASSERT_TRUE(removed);
        EXPECT_EQ(*removed, id == e1 ? recipients : 2u);
        ASSERT_TRUE(m->commit());
    }
    EXPECT_EQ(mail.marker_count(), 0u);
}

TEST(HandOffTest, MarkersOfOtherQueuesAndSegmentsAreDistinctAndExpire) {
    TempDir dir;
    FakeMail mail(dir);
    const Recipient r{"x@example.net", RecipientState::pending, 7, 0, 0, {}};
    const auto body = bytes("b");
    EXPECT_TRUE(mail.hand_off({QueueKind::smtp_in, 1, 10, 0}, r, body));
    EXPECT_TRUE(mail.hand_off({QueueKind::smtp_out, 1, 10, 0}, r, body));
    EXPECT_TRUE(mail.hand_off({QueueKind::smtp_in, 2, 10, 0}, r, body));
    EXPECT_TRUE(mail.hand_off({QueueKind::smtp_in, 1, 11, 0}, r, body));
    EXPECT_FALSE(mail.hand_off({QueueKind::smtp_in, 1, 10, 0}, r, body));
    {
        auto m = WriteTxn::begin(*mail.env);
        ASSERT_TRUE(m);
        auto removed = remove_markers(*m, mail.markers, QueueKind::smtp_in, 1, 10);
        ASSERT_TRUE(removed);
        EXPECT_EQ(*removed, 1u);
        ASSERT_TRUE(m->commit());
    }
    EXPECT_EQ(mail.marker_count(), 3u);
    // Expiry in bounded steps: nothing before the cutoff yet, then everything, two at a time.
    auto m = WriteTxn::begin(*mail.env);
    ASSERT_TRUE(m);
    auto none = expire_markers(*m, mail.markers, now_unix, std::nullopt, 10);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->removed, 0u);
    EXPECT_FALSE(none->resume);
    auto first = expire_markers(*m, mail.markers, now_unix + 1, std::nullopt, 2);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->removed, 2u);
    ASSERT_TRUE(first->resume);
    auto rest = expire_markers(*m, mail.markers, now_unix + 1, first->resume, 2);
    ASSERT_TRUE(rest);
    EXPECT_EQ(rest->removed, 1u);
    EXPECT_FALSE(rest->resume);
    ASSERT_TRUE(m->commit());
    EXPECT_EQ(mail.marker_count(), 0u);
}

TEST(QueueTest, RecoveryPagesThroughTheQueueAndNoPlaintextReachesTheFile) {
    TempDir dir;
    QueueFixture f(dir);
    std::vector<std::uint64_t> ids;
    ids.reserve(5);
    for (int i = 0; i < 5; ++i) ids.push_back(f.enqueue(sample_envelope(1), "plaintext marker QZ5 " + std::to_string(i)));
    {
        auto w = WriteTxn::begin(*f.env);
        ASSERT_TRUE(w);
        Envelope done = sample_envelope(1);
        done.recipients[0].state = RecipientState::failed_perm;
        ASSERT_TRUE(f.queue->update(*w, *f.keys, ids[1], done));  // nothing left to do for this one
        ASSERT_TRUE(w->commit());
    }
    {
        auto r = ReadTxn::begin(*f.env);
        ASSERT_TRUE(r);
        std::vector<std::uint64_t> found;
        std::uint64_t after = 0;
        for (int pages = 0; pages < 10; ++pages) {
            auto batch = recover(*f.queue, *r, *f.keys, after, 2);
            ASSERT_TRUE(batch);
            for (const auto& e : batch->entries) found.push_back(e.id);
            after = batch->last_id;
            if (batch->complete) break;
        }
        EXPECT_EQ(found, (std::vector<std::uint64_t>{ids[0], ids[2], ids[3], ids[4]}));
    }
    f.close();
    const std::string file = testing::stored_bytes(dir.path() + "/smtp-in");
    ASSERT_FALSE(file.empty());
    EXPECT_EQ(file.find("QZ5"), std::string::npos);
    EXPECT_EQ(file.find("example.net"), std::string::npos);
}

// The same hand-off through the store lane: the append and the marker travel in ONE WriteRequest,
// and the shard checks the marker in a ReadTxn (it is the environment's only writer).
TEST(HandOffTest, LaneRequestCarriesAppendAndMarkerTogether) {
    TempDir dir;
    FakeMail mail(dir);
    Lane lane({mail.env.get()}, LaneOptions{});
    ASSERT_TRUE(lane.start());
    const DeliveryMarker m{QueueKind::smtp_out, 9, 77, 3};
    const auto submit_if_needed = [&](std::uint64_t token) {
        auto r = ReadTxn::begin(*mail.env);
        VMX_ASSERT(r);
        auto done = already_delivered(*r, mail.markers, m);
        VMX_ASSERT(done);
        if (*done) return false;
        WriteRequest request;
        request.token = token;
        WriteOp append;
        append.dbi = mail.mailbox;
        const auto key = encode_record_key(RecordKey{7, record_of(token, 0)});
        append.key.assign(key.begin(), key.end());
        append.value = bytes("sealed body stand-in");
        request.ops.push_back(std::move(append));
        request.ops.push_back(marker_put_op(mail.markers, m, now_unix, token));
        VMX_ASSERT(lane.submit(request));
        std::vector<WriteResult> got;
        for (int i = 0; i < 500 && got.empty(); ++i) {
            lane.drain_results([&](WriteResult&& w) { got.push_back(w); });
            if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        VMX_ASSERT(got.size() == 1 && !got[0].error);
        return true;
    };
    EXPECT_TRUE(submit_if_needed(1));
    EXPECT_FALSE(submit_if_needed(2));  // a redone hand-off after "restart" appends nothing
    EXPECT_EQ(mail.per_user().at(7), 1);
    EXPECT_EQ(mail.marker_count(), 1u);
}

}  // namespace
}  // namespace vmx::store
