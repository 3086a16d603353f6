// The storage seam's contract (store/backend.h), run on every backend: Lmdb/* on an environment in a
// temporary folder, Rados/* on a real Ceph cluster (VMX_CEPH_CONF names its ceph.conf; the ctest
// integration.store_rados starts one with scripts/ceph-dev and runs this binary with it). Each test
// gets a space of its own (a fresh folder, or a fresh RADOS namespace).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include "store/lmdb_space.h"
#include "store/rados_space.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;
using testing::text;

enum class Kind { lmdb, rados };

std::string random_name() {
    std::random_device rd;
    return "t" + std::to_string(rd()) + std::to_string(rd());
}

class BackendConformance : public ::testing::TestWithParam<Kind> {
protected:
    void SetUp() override {
        if (GetParam() == Kind::rados) {
            const char* conf = std::getenv("VMX_CEPH_CONF");
            if (conf == nullptr) GTEST_SKIP() << "VMX_CEPH_CONF unset: integration.store_rados runs these on a cluster";
            options_.conf = conf;
            options_.ns = random_name();
            options_.timeout_s = 20;
        }
        auto opened = open();
        ASSERT_TRUE(opened) << opened.error().message();
        space_ = std::move(*opened);
        auto t = space_->table("records");
        ASSERT_TRUE(t);
        records_ = *t;
    }

    // Another handle on the same space: for RADOS a second connection (another node), for LMDB the
    // same environment reopened after this handle closes (a process opens an environment once).
    Result<std::unique_ptr<Space>> open() {
        if (GetParam() == Kind::lmdb) {
            EnvOptions small;  // a small map, so the tests grow it while they write
            small.map_bytes = std::size_t{1} << 20;
            small.map_bytes_max = std::size_t{1} << 30;
            auto s = LmdbSpace::open(dir_.path(), small);
            if (!s) return fail(s.error());
            return std::unique_ptr<Space>(std::move(*s));
        }
        auto cluster = RadosCluster::connect(options_);
        if (!cluster) return fail(cluster.error());
        auto s = RadosSpace::open(*cluster, "conformance");
        if (!s) return fail(s.error());
        return std::unique_ptr<Space>(std::move(*s));
    }

    std::optional<ByteString> get(Space& space, Table t, std::string_view key) {
        auto snap = space.snapshot();
        EXPECT_TRUE(snap);
        if (!snap) return std::nullopt;
        auto got = (*snap)->get(t, bytes(key));
        EXPECT_TRUE(got) << got.error().message();
        return got ? *got : std::nullopt;
    }
    std::optional<std::string> get_text(std::string_view key) {
        auto got = get(*space_, records_, key);
        if (!got) return std::nullopt;
        return text(*got);
    }
    Result<void> put(std::string_view key, std::string_view value) {
        Batch b;
        b.put(records_, bytes(key), bytes(value));
        return space_->commit(b);
    }

    TempDir dir_;
    RadosOptions options_;
    std::unique_ptr<Space> space_;
    Table records_;
};

TEST_P(BackendConformance, PutGetEraseRoundTrip) {
    EXPECT_EQ(get_text("k1"), std::nullopt);
    ASSERT_TRUE(put("k1", "one"));
    EXPECT_EQ(get_text("k1"), "one");
    ASSERT_TRUE(put("k1", "uno"));
    EXPECT_EQ(get_text("k1"), "uno");
    Batch b;
    b.erase(records_, bytes("k1"));
    b.erase(records_, bytes("never-there"));  // erasing an absent key is no error
    ASSERT_TRUE(space_->commit(b));
    EXPECT_EQ(get_text("k1"), std::nullopt);
}

TEST_P(BackendConformance, BinaryKeysAndValuesKeepEveryByte) {
    ByteString key{0x00, 0xff, 0x00, 0x10, 0x2f, 0x7f};
    ByteString value(70000);
    for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::uint8_t>(i * 7);
    Batch b;
    b.put(records_, key, value);
    b.put(records_, ByteString{0x00}, ByteString{});  // an empty value is a value
    ASSERT_TRUE(space_->commit(b));
    auto snap = space_->snapshot();
    ASSERT_TRUE(snap);
    auto got = (*snap)->get(records_, key);
    ASSERT_TRUE(got && *got);
    EXPECT_EQ(**got, value);
    auto empty = (*snap)->get(records_, ByteString{0x00});
    ASSERT_TRUE(empty && *empty);
    EXPECT_TRUE((*empty)->empty());
}

TEST_P(BackendConformance, ScanIsOrderedBoundedAndPerTable) {
    auto other = space_->table("other");
    ASSERT_TRUE(other);
    Batch b;
    for (int i : {5, 1, 250, 16, 0, 255, 17, 2})
        b.put(records_, ByteString{0x01, static_cast<std::uint8_t>(i)}, bytes(std::to_string(i)));
    b.put(records_, ByteString{0x00, 0x09}, bytes("low"));
    b.put(records_, ByteString{0x02}, bytes("high"));
    b.put(*other, ByteString{0x01, 0x03}, bytes("elsewhere"));
    ASSERT_TRUE(space_->commit(b));
    auto snap = space_->snapshot();
    ASSERT_TRUE(snap);

    auto all = (*snap)->scan(records_, {}, 100);
    ASSERT_TRUE(all);
    std::vector<std::string> values;
    for (const auto& kv : *all) values.push_back(text(kv.value));
    EXPECT_EQ(values, (std::vector<std::string>{"low", "0", "1", "2", "5", "16", "17", "250", "255", "high"}));

    // From a key that exists, from one that does not, and bounded.
    auto from = (*snap)->scan(records_, ByteString{0x01, 0x10}, 3);
    ASSERT_TRUE(from);
    ASSERT_EQ(from->size(), 3U);
    EXPECT_EQ(text((*from)[0].value), "16");
    EXPECT_EQ((*from)[0].key, (ByteString{0x01, 0x10}));
    EXPECT_EQ(text((*from)[2].value), "250");
    auto between = (*snap)->scan(records_, ByteString{0x01, 0x03}, 2);
    ASSERT_TRUE(between);
    ASSERT_EQ(between->size(), 2U);
    EXPECT_EQ(text((*between)[0].value), "5");
    auto prefix = (*snap)->scan(records_, ByteString{0x01}, 1);
    ASSERT_TRUE(prefix);
    ASSERT_EQ(prefix->size(), 1U);
    EXPECT_EQ(text((*prefix)[0].value), "0");
    auto past = (*snap)->scan(records_, ByteString{0x03}, 10);
    ASSERT_TRUE(past);
    EXPECT_TRUE(past->empty());

    auto others = (*snap)->scan(*other, {}, 10);
    ASSERT_TRUE(others);
    ASSERT_EQ(others->size(), 1U);
    EXPECT_EQ(text(others->front().value), "elsewhere");
}

TEST_P(BackendConformance, ExpectationsGuardTheWholeBatch) {
    ASSERT_TRUE(put("have", "v1"));
    const auto refused = [&](const Batch& b) {
        auto r = space_->commit(b);
        return !r && r.error() == StoreErrc::conflict;
    };
    {  // the changes come before the failing expectation in the batch: still nothing is written
        Batch b;
        b.put(records_, bytes("new"), bytes("x"));
        b.expect_absent(records_, bytes("have"));
        EXPECT_TRUE(refused(b));
    }
    {
        Batch b;
        b.expect_present(records_, bytes("missing"));
        b.put(records_, bytes("new"), bytes("x"));
        EXPECT_TRUE(refused(b));
    }
    {
        Batch b;
        b.expect_equals(records_, bytes("have"), bytes("v2"));
        b.erase(records_, bytes("have"));
        EXPECT_TRUE(refused(b));
    }
    {  // an absent key equals no value, not even the empty one
        Batch b;
        b.expect_equals(records_, bytes("missing"), {});
        b.put(records_, bytes("new"), bytes("x"));
        EXPECT_TRUE(refused(b));
    }
    EXPECT_EQ(get_text("new"), std::nullopt);
    EXPECT_EQ(get_text("have"), "v1");

    Batch b;
    b.expect_absent(records_, bytes("new"));
    b.expect_present(records_, bytes("have"));
    b.expect_equals(records_, bytes("have"), bytes("v1"));
    b.put(records_, bytes("new"), bytes("x"));
    b.put(records_, bytes("have"), bytes("v2"));
    ASSERT_TRUE(space_->commit(b));
    EXPECT_EQ(get_text("new"), "x");
    EXPECT_EQ(get_text("have"), "v2");

    Batch e;
    e.put(records_, bytes("empty"), {});
    ASSERT_TRUE(space_->commit(e));
    Batch p;  // an empty value is present, and absent it is not
    p.expect_present(records_, bytes("empty"));
    p.expect_equals(records_, bytes("empty"), {});
    p.put(records_, bytes("seen"), bytes("1"));
    EXPECT_TRUE(space_->commit(p));
    Batch a;
    a.expect_absent(records_, bytes("empty"));
    EXPECT_TRUE(refused(a));
}

TEST_P(BackendConformance, ChangesApplyInOrder) {
    Batch b;
    b.put(records_, bytes("k"), bytes("first"));
    b.erase(records_, bytes("k"));
    b.put(records_, bytes("j"), bytes("first"));
    b.put(records_, bytes("j"), bytes("second"));
    ASSERT_TRUE(space_->commit(b));
    EXPECT_EQ(get_text("k"), std::nullopt);
    EXPECT_EQ(get_text("j"), "second");
}

TEST_P(BackendConformance, BadRequestsAreRefusedBeforeAnythingIsWritten) {
    const auto invalid = [](const Result<void>& r) { return !r && r.error() == StoreErrc::invalid_request; };
    Batch empty_key;
    empty_key.put(records_, bytes("ok"), bytes("x"));
    empty_key.put(records_, {}, bytes("x"));
    EXPECT_TRUE(invalid(space_->commit(empty_key)));
    Batch long_key;
    long_key.put(records_, ByteString(backend_key_bytes_max + 1, 'k'), bytes("x"));
    EXPECT_TRUE(invalid(space_->commit(long_key)));
    Batch unknown_table;
    unknown_table.put(Table{999}, bytes("k"), bytes("x"));
    EXPECT_TRUE(invalid(space_->commit(unknown_table)));
    Batch bad_lease;
    bad_lease.expect_lease("with space", "holder");
    EXPECT_TRUE(invalid(space_->commit(bad_lease)));
    EXPECT_EQ(get_text("ok"), std::nullopt);
    EXPECT_FALSE(space_->table("Upper"));
    EXPECT_FALSE(space_->table(""));
    EXPECT_FALSE(space_->table("a/b"));
    EXPECT_TRUE(invalid(space_->acquire_lease("", "h", 1000)));
    EXPECT_TRUE(invalid(space_->acquire_lease("n", "h\n", 1000)));
}

// A snapshot shows the state it began on, or says it moved on: never a mix of two states.
TEST_P(BackendConformance, SnapshotsNeverMixStates) {
    ASSERT_TRUE(put("a", "1"));
    ASSERT_TRUE(put("b", "1"));
    auto snap = space_->snapshot();
    ASSERT_TRUE(snap);
    auto a = (*snap)->get(records_, bytes("a"));
    ASSERT_TRUE(a && *a);
    Batch both;
    both.put(records_, bytes("a"), bytes("2"));
    both.put(records_, bytes("b"), bytes("2"));
    ASSERT_TRUE(space_->commit(both));
    auto b = (*snap)->get(records_, bytes("b"));
    if (b) {
        ASSERT_TRUE(*b);
        EXPECT_EQ(text(**b), "1");  // the old state, like a
    } else {
        EXPECT_EQ(b.error(), StoreErrc::conflict);
    }
    auto scanned = (*snap)->scan(records_, {}, 10);
    if (scanned) {
        for (const auto& kv : *scanned) EXPECT_EQ(text(kv.value), "1");
    } else {
        EXPECT_EQ(scanned.error(), StoreErrc::conflict);
    }
    EXPECT_EQ(get_text("b"), "2");  // a new snapshot sees the commit
}

// Compare-and-set from two threads: every increment lands exactly once.
TEST_P(BackendConformance, AtomicCompareSerialisesConcurrentWriters) {
    ASSERT_TRUE(put("counter", "0"));
    constexpr int per_thread = 40;
    std::atomic<int> conflicts{0};
    std::atomic<int> failures{0};
    const auto work = [&] {
        for (int i = 0; i < per_thread;) {
            auto snap = space_->snapshot();
            if (!snap) return failures.fetch_add(1), void();
            auto cur = (*snap)->get(records_, bytes("counter"));
            if (!cur) {
                if (cur.error() == StoreErrc::conflict) continue;
                return failures.fetch_add(1), void();
            }
            const std::string old = text(**cur);
            const std::string next = std::to_string(std::stoi(old) + 1);
            Batch b;
            b.expect_equals(records_, bytes("counter"), bytes(old));
            b.put(records_, bytes("counter"), bytes(next));
            auto r = space_->commit(b);
            if (r) {
                ++i;
            } else if (r.error() == StoreErrc::conflict) {
                conflicts.fetch_add(1);
            } else {
                return failures.fetch_add(1), void();
            }
        }
    };
    std::thread t1(work);
    std::thread t2(work);
    t1.join();
    t2.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(get_text("counter"), std::to_string(2 * per_thread));
}

TEST_P(BackendConformance, AsyncCommitCallsBackOnceWithTheOutcome) {
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::error_code> outcomes;
    const auto done = [&](std::error_code ec) {
        std::lock_guard lock(m);
        outcomes.push_back(ec);
        cv.notify_all();
    };
    Batch ok;
    ok.put(records_, bytes("async"), bytes("yes"));
    space_->commit_async(std::move(ok), done);
    Batch refused;
    refused.expect_absent(records_, bytes("async"));
    refused.put(records_, bytes("async"), bytes("no"));
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return outcomes.size() == 1; }));
    }
    space_->commit_async(std::move(refused), done);
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return outcomes.size() == 2; }));
    EXPECT_FALSE(outcomes[0]);
    EXPECT_EQ(outcomes[1], StoreErrc::conflict);
    lock.unlock();
    EXPECT_EQ(get_text("async"), "yes");
}

TEST_P(BackendConformance, BlobsRoundTripByRange) {
    ByteString data(3 * 1024 * 1024 + 17);
    std::mt19937 rng(7);  // NOLINT(cert-msc51-cpp): a fixed seed repeats a failure
    for (auto& b : data) b = static_cast<std::uint8_t>(rng());
    const ByteString name{0x00, 0x01, 0xfe};
    auto absent = space_->read_blob(name, 0, 10);
    ASSERT_TRUE(absent);
    EXPECT_FALSE(*absent);
    ASSERT_TRUE(space_->put_blob(name, data));
    ByteString back;
    for (std::uint64_t off = 0;; off += 65536) {
        auto part = space_->read_blob(name, off, 65536);
        ASSERT_TRUE(part && *part);
        if ((*part)->empty()) break;
        back.insert(back.end(), (*part)->begin(), (*part)->end());
    }
    EXPECT_EQ(back, data);
    ASSERT_TRUE(space_->put_blob(name, bytes("short")));  // replaces the whole blob
    auto whole = space_->read_blob(name, 0, 1 << 20);
    ASSERT_TRUE(whole && *whole);
    EXPECT_EQ(text(**whole), "short");
    auto erased = space_->erase_blob(name);
    ASSERT_TRUE(erased);
    EXPECT_TRUE(*erased);
    auto again = space_->erase_blob(name);
    ASSERT_TRUE(again);
    EXPECT_FALSE(*again);
    auto gone = space_->read_blob(name, 0, 10);
    ASSERT_TRUE(gone);
    EXPECT_FALSE(*gone);
}

// Writers on several threads at once, past the store's first size (LMDB grows its map meanwhile).
TEST_P(BackendConformance, ConcurrentWritersAllLand) {
    const ByteString body(std::size_t{64} * 1024, 0x5a);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (std::uint8_t w = 0; w < 4; ++w)
        threads.emplace_back([&, w] {
            for (std::uint8_t i = 0; i < 24; ++i) {
                Batch b;
                b.put(records_, ByteString{w, i}, body);
                if (!space_->put_blob(ByteString{w, i}, body) || !space_->commit(b)) failures.fetch_add(1);
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    auto snap = space_->snapshot();
    ASSERT_TRUE(snap);
    auto all = (*snap)->scan(records_, {}, 1000);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 96U);
    auto last = space_->read_blob(ByteString{3, 23}, 0, body.size());
    ASSERT_TRUE(last && *last);
    EXPECT_EQ(**last, body);
}

TEST_P(BackendConformance, LeasesAreExclusiveRenewableAndReleased) {
    ASSERT_TRUE(space_->acquire_lease("pop3.user7", "node-a", 30000));
    auto busy = space_->acquire_lease("pop3.user7", "node-b", 30000);
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error(), StoreErrc::lease_busy);
    EXPECT_TRUE(space_->acquire_lease("pop3.user7", "node-a", 30000));  // a renewal
    EXPECT_TRUE(space_->acquire_lease("pop3.user8", "node-b", 30000));  // another lease is free
    auto not_held = space_->release_lease("pop3.user7", "node-b");
    ASSERT_FALSE(not_held);
    EXPECT_EQ(not_held.error(), StoreErrc::not_found);
    ASSERT_TRUE(space_->release_lease("pop3.user7", "node-a"));
    EXPECT_TRUE(space_->acquire_lease("pop3.user7", "node-b", 30000));
}

// A holder that stalled past its lease is fenced: its batch fails once the lease ran out, and
// after another holder took it.
TEST_P(BackendConformance, ALostLeaseFencesItsFormerHolder) {
    ASSERT_TRUE(space_->acquire_lease("segment.3", "node-a", 1000));
    Batch fenced;
    fenced.expect_lease("segment.3", "node-a");
    fenced.put(records_, bytes("owner-write"), bytes("a"));
    ASSERT_TRUE(space_->commit(fenced));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    Batch late = fenced;
    late.changes[0].value = bytes("late");
    auto r = space_->commit(late);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), StoreErrc::conflict);
    ASSERT_TRUE(space_->acquire_lease("segment.3", "node-b", 30000));  // expired: free to take
    auto again = space_->commit(late);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), StoreErrc::conflict);
    EXPECT_EQ(get_text("owner-write"), "a");
    Batch never;
    never.expect_lease("segment.4", "node-a");
    never.put(records_, bytes("x"), bytes("x"));
    auto n = space_->commit(never);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), StoreErrc::conflict);
}

TEST_P(BackendConformance, CommittedDataOutlivesTheHandle) {
    Batch b;
    b.put(records_, bytes("durable"), bytes("yes"));
    ASSERT_TRUE(space_->commit(b));
    ASSERT_TRUE(space_->put_blob(bytes("body"), bytes("blob bytes")));
    ASSERT_TRUE(space_->acquire_lease("held", "node-a", 60000));
    space_.reset();
    auto reopened = open();
    ASSERT_TRUE(reopened) << reopened.error().message();
    auto t = (*reopened)->table("records");
    ASSERT_TRUE(t);
    auto got = get(**reopened, *t, "durable");
    ASSERT_TRUE(got);
    EXPECT_EQ(text(*got), "yes");
    auto blob = (*reopened)->read_blob(bytes("body"), 0, 100);
    ASSERT_TRUE(blob && *blob);
    EXPECT_EQ(text(**blob), "blob bytes");
    auto busy = (*reopened)->acquire_lease("held", "node-b", 1000);  // the lease outlives it too
    ASSERT_FALSE(busy);
    EXPECT_EQ(busy.error(), StoreErrc::lease_busy);
}

// Values the size of a body chunk (RADOS keeps them in objects of their own) behave as small ones.
TEST_P(BackendConformance, LargeValuesReadCompareAndEraseAsSmallOnes) {
    ByteString big1(100000);
    ByteString big2(70000);
    for (std::size_t i = 0; i < big1.size(); ++i) big1[i] = static_cast<std::uint8_t>(i * 13 + 1);
    for (std::size_t i = 0; i < big2.size(); ++i) big2[i] = static_cast<std::uint8_t>(i * 3 + 5);
    Batch first;
    first.put(records_, bytes("big"), big1);
    first.put(records_, bytes("big-too"), big2);  // the same bytes as the next value of "big"
    ASSERT_TRUE(space_->commit(first));
    EXPECT_EQ(get(*space_, records_, "big"), big1);

    Batch stale;  // a writer that read big2 where big1 is
    stale.expect_equals(records_, bytes("big"), big2);
    stale.put(records_, bytes("big"), bytes("stale"));
    auto refused = space_->commit(stale);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), StoreErrc::conflict);
    Batch current;
    current.expect_equals(records_, bytes("big"), big1);
    current.put(records_, bytes("big"), big2);
    ASSERT_TRUE(space_->commit(current));

    auto snap = space_->snapshot();
    ASSERT_TRUE(snap);
    auto all = (*snap)->scan(records_, bytes("big"), 10);
    ASSERT_TRUE(all) << all.error().message();
    ASSERT_EQ(all->size(), 2U);
    EXPECT_EQ((*all)[0].value, big2);
    EXPECT_EQ((*all)[1].value, big2);

    Batch erase;
    erase.erase(records_, bytes("big"));
    ASSERT_TRUE(space_->commit(erase));
    EXPECT_EQ(get(*space_, records_, "big"), std::nullopt);
    EXPECT_EQ(get(*space_, records_, "big-too"), big2);  // equal bytes under another key stay
    Batch shrink;  // a large value replaced by a small one
    shrink.put(records_, bytes("big-too"), bytes("small"));
    ASSERT_TRUE(space_->commit(shrink));
    EXPECT_EQ(get_text("big-too"), "small");
}

// RADOS only: where the large values live, and that none is left behind.
class RadosValueObjects : public BackendConformance {
protected:
    std::vector<std::string> value_objects() {
        auto cluster = RadosCluster::connect(options_);
        EXPECT_TRUE(cluster);
        if (!cluster) return {};
        auto io = (*cluster)->io();
        EXPECT_TRUE(io);
        if (!io) return {};
        std::vector<std::string> out;
        rados_list_ctx_t list = nullptr;
        if (rados_nobjects_list_open(io->get(), &list) < 0) return out;
        const char* entry = nullptr;
        while (rados_nobjects_list_next(list, &entry, nullptr, nullptr) == 0) {
            std::string name(entry);
            if (name.rfind("conformance.v.", 0) == 0) out.push_back(name);
        }
        rados_nobjects_list_close(list);
        return out;
    }
    Result<void> put_bytes(std::string_view key, const ByteString& value) {
        Batch b;
        b.put(records_, bytes(key), value);
        return space_->commit(b);
    }
};

TEST_P(RadosValueObjects, ABodySizedValueIsAnObjectGoneWithItsEntry) {
    const ByteString a(65536, 0x11);
    const ByteString b(65536, 0x22);
    ASSERT_TRUE(put_bytes("m1", a));
    ASSERT_TRUE(put_bytes("m2", a));
    ASSERT_TRUE(put(std::string_view("small"), std::string_view("meta")));
    EXPECT_EQ(value_objects().size(), 2U);  // one per entry, the small one inline
    auto* rados_space = static_cast<RadosSpace*>(space_.get());
    auto stored = rados_space->stored_bytes();
    ASSERT_TRUE(stored);
    EXPECT_LT(stored->size() - 2 * a.size(), 1024U);  // the omap holds references, not the bytes

    ASSERT_TRUE(put_bytes("m1", b));  // replaced: the old object goes
    EXPECT_EQ(value_objects().size(), 2U);
    Batch twice;  // one key put twice: the last value stays, and only its object
    twice.put(records_, bytes("m5"), a);
    twice.put(records_, bytes("m5"), b);
    ASSERT_TRUE(space_->commit(twice));
    EXPECT_EQ(get(*space_, records_, "m5"), b);
    EXPECT_EQ(value_objects().size(), 3U);
    Batch drop;
    drop.erase(records_, bytes("m5"));
    ASSERT_TRUE(space_->commit(drop));
    EXPECT_EQ(value_objects().size(), 2U);
    Batch refused;  // refused for certain: the object it wrote goes too
    refused.expect_absent(records_, bytes("m1"));
    refused.put(records_, bytes("m3"), b);
    ASSERT_FALSE(space_->commit(refused));
    EXPECT_EQ(value_objects().size(), 2U);
    EXPECT_EQ(get(*space_, records_, "m3"), std::nullopt);

    // A reader whose entry changed after it read the omap is told so, not given other bytes.
    auto objects = value_objects();
    auto io = RadosCluster::connect(options_);
    ASSERT_TRUE(io);
    auto ctx = (*io)->io();
    ASSERT_TRUE(ctx);
    for (const auto& name : objects) ASSERT_EQ(rados_remove(ctx->get(), name.c_str()), 0);
    auto latest = space_->latest();
    ASSERT_TRUE(latest);
    auto gone = (*latest)->get(records_, bytes("m2"));
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error(), StoreErrc::conflict);

    Batch erase;
    erase.erase(records_, bytes("m1"));
    erase.erase(records_, bytes("m2"));
    ASSERT_TRUE(space_->commit(erase));
    ASSERT_TRUE(put_bytes("m4", a));
    Batch last;
    last.erase(records_, bytes("m4"));
    ASSERT_TRUE(space_->commit(last));
    EXPECT_TRUE(value_objects().empty());
}

INSTANTIATE_TEST_SUITE_P(Lmdb, BackendConformance, ::testing::Values(Kind::lmdb));
INSTANTIATE_TEST_SUITE_P(Rados, BackendConformance, ::testing::Values(Kind::rados));
INSTANTIATE_TEST_SUITE_P(Rados, RadosValueObjects, ::testing::Values(Kind::rados));

}  // namespace
}  // namespace vmx::store
