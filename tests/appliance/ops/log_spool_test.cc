// The sealed log spool: order, persistence, sealing (no plaintext on disk, records bound to their
// sequence and key), retention, the size cap and the shipping mark.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "appliance/ops/log_line.h"
#include "appliance/ops/log_spool.h"
#include "appliance/ops/spool_log_writer.h"
#include "core/log_sink.h"
#include "store/lmdb.h"

namespace vmx {
namespace {

constexpr std::string_view canary = "CANARY-3f9a1c-plaintext";

crypto::SecretBytes key_of(std::uint8_t fill) {
    auto key = crypto::SecretBytes::zeroed(log_key_bytes);
    std::memset(key.mutable_view().data(), fill, log_key_bytes);
    return key;
}

struct Folder {
    Folder() {
        char pattern[] = "/tmp/vmx-spool-XXXXXX";
        root = mkdtemp(pattern);
        path = root + "/spool";
    }
    ~Folder() { std::filesystem::remove_all(root); }
    std::string root;
    std::string path;
};

// A line as the daemon writes it, at `time_us`.
std::string line_at(std::uint64_t sequence, std::uint64_t time_us, std::string_view fields) {
    LogRecord r;
    r.time_us = time_us;
    const std::string text = "event=test.event " + std::string(fields);
    r.length = static_cast<std::uint16_t>(text.size());
    std::memcpy(r.text, text.data(), text.size());
    return format_log_line(r, sequence, {"h", "vaultmxd", 1});
}

std::unique_ptr<LogSpool> open_spool(const Folder& f, std::uint8_t key = 7, LogSpoolOptions options = {}) {
    auto spool = LogSpool::open(f.path, key_of(key), options);
    EXPECT_TRUE(spool) << spool.error().message();
    return spool ? std::move(*spool) : nullptr;
}

constexpr std::uint64_t t0 = 1796551418000000;  // 2026-12-06T10:03:38Z
constexpr std::uint64_t day = std::uint64_t{86400} * 1000000;

TEST(LogSpool, KeepsLinesInOrderAcrossReopen) {
    Folder f;
    {
        auto spool = open_spool(f);
        EXPECT_EQ(spool->next_sequence(), 1u);
        std::vector<std::string> lines;
        for (std::uint64_t s = 1; s <= 50; ++s) lines.push_back(line_at(s, t0 + s, "n=" + std::to_string(s)));
        ASSERT_TRUE(spool->append(lines));
        EXPECT_EQ(spool->next_sequence(), 51u);
    }
    auto spool = open_spool(f);
    EXPECT_EQ(spool->next_sequence(), 51u);
    auto events = spool->read(10, 5, 1 << 20);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 5u);
    EXPECT_EQ(events->front().sequence, 10u);
    EXPECT_NE(events->front().line.find(" n=10"), std::string::npos);
    EXPECT_EQ(events->back().sequence, 14u);
}

TEST(LogSpool, NothingOnDiskIsPlaintextAndAnotherKeyReadsNothing) {
    Folder f;
    {
        auto spool = open_spool(f);
        const std::vector<std::string> lines{line_at(1, t0, std::string(canary)), line_at(2, t0, "user=" + std::string(canary))};
        ASSERT_TRUE(spool->append(lines));
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(f.root)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_EQ(bytes.find(canary), std::string::npos) << entry.path();
        EXPECT_EQ(bytes.find("test.event"), std::string::npos) << entry.path();
    }
    auto other = open_spool(f, 8);
    EXPECT_FALSE(other->read(1, 10, 1 << 20));
}

TEST(LogSpool, ARecordMovedToAnotherSequenceDoesNotOpen) {
    Folder f;
    {
        auto spool = open_spool(f);
        const std::vector<std::string> lines{line_at(1, t0, "a=1"), line_at(2, t0, "a=2")};
        ASSERT_TRUE(spool->append(lines));
    }
    {
        // Copy record 1's sealed value over record 2, as someone with the file could.
        store::EnvOptions options;
        options.dbs_max = 2;
        options.map_bytes = options.map_bytes_max = std::size_t{16} << 20;
        auto env = store::Env::open(f.path, options);
        ASSERT_TRUE(env);
        auto dbi = (*env)->open_dbi("events");
        ASSERT_TRUE(dbi);
        auto txn = store::WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        const std::uint8_t k1[8] = {0, 0, 0, 0, 0, 0, 0, 1};
        const std::uint8_t k2[8] = {0, 0, 0, 0, 0, 0, 0, 2};
        auto first = txn->get(*dbi, k1);
        ASSERT_TRUE(first);
        const std::vector<std::uint8_t> copy(first->begin(), first->end());
        ASSERT_TRUE(txn->put(*dbi, k2, copy));
        ASSERT_TRUE(txn->commit());
    }
    auto spool = open_spool(f);
    EXPECT_TRUE(spool->read(1, 1, 1 << 20));
    EXPECT_FALSE(spool->read(2, 1, 1 << 20));
}

TEST(LogSpool, FindsTimesAndPrunesPastRetention) {
    Folder f;
    LogSpoolOptions options;
    options.retention_days = 10;
    auto spool = open_spool(f, 7, options);
    std::vector<std::string> lines;
    for (std::uint64_t s = 1; s <= 30; ++s) lines.push_back(line_at(s, t0 + s * day, "d=" + std::to_string(s)));
    ASSERT_TRUE(spool->append(lines));
    auto at = spool->find_time(format_log_time(t0 + 12 * day));
    ASSERT_TRUE(at);
    EXPECT_EQ(*at, 12u);
    auto none = spool->find_time(format_log_time(t0 + 99 * day));
    ASSERT_TRUE(none);
    EXPECT_EQ(*none, 31u);
    // Now is day 30: days before 20 go.
    auto pruned = spool->prune(t0 + 30 * day);
    ASSERT_TRUE(pruned);
    EXPECT_EQ(*pruned, 19u);
    auto events = spool->read(1, 100, 1 << 20);
    ASSERT_TRUE(events);
    EXPECT_EQ(events->front().sequence, 20u);
    EXPECT_EQ(spool->next_sequence(), 31u);
}

TEST(LogSpool, WhileShippingOnlyShippedEventsArePruned) {
    Folder f;
    LogSpoolOptions options;
    options.retention_days = 1;
    options.shipping = true;
    auto spool = open_spool(f, 7, options);
    std::vector<std::string> lines;
    for (std::uint64_t s = 1; s <= 10; ++s) lines.push_back(line_at(s, t0, "x=1"));
    ASSERT_TRUE(spool->append(lines));
    ASSERT_TRUE(spool->set_shipped(4));
    auto pruned = spool->prune(t0 + 100 * day);
    ASSERT_TRUE(pruned);
    EXPECT_EQ(*pruned, 4u);
    auto shipped = spool->shipped();
    ASSERT_TRUE(shipped);
    EXPECT_EQ(*shipped, 4u);
    auto events = spool->read(1, 100, 1 << 20);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 6u);
    EXPECT_EQ(events->front().sequence, 5u);
}

TEST(LogSpool, AFullSpoolGivesUpShippedEventsThenRefusesNewOnes) {
    Folder f;
    LogSpoolOptions options;
    options.bytes_max = std::uint64_t{16} << 20;
    options.shipping = true;
    auto spool = open_spool(f, 7, options);
    const std::string filler(400, 'f');
    std::uint64_t appended = 0;
    // Nothing shipped: the cap is reached and new events are refused, never the old ones.
    bool refused = false;
    for (int batch = 0; batch < 100 && !refused; ++batch) {
        std::vector<std::string> lines;
        for (int i = 0; i < 1000; ++i) lines.push_back(line_at(spool->next_sequence() + lines.size(), t0, filler));
        if (spool->append(lines)) appended += lines.size();
        else refused = true;
    }
    EXPECT_TRUE(refused);
    EXPECT_GT(appended, 10000u);
    auto first = spool->read(1, 1, 1 << 20);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->front().sequence, 1u);
    // Once shipped, old events make room for new ones.
    ASSERT_TRUE(spool->set_shipped(spool->next_sequence() - 1));
    std::vector<std::string> lines;
    for (int i = 0; i < 1000; ++i) lines.push_back(line_at(spool->next_sequence() + lines.size(), t0, filler));
    EXPECT_TRUE(spool->append(lines));
}

LogRecord record_of(std::string_view text) {
    LogRecord r;
    r.time_us = t0;
    r.length = static_cast<std::uint16_t>(std::min(text.size(), LogRecord::text_bytes_max));
    std::memcpy(r.text, text.data(), r.length);
    return r;
}

// A commit the spool refuses loses nothing: the writer holds the batch, numbered as it was, and the
// next commit after room returns stores every event once, in order.
TEST(SpoolLogWriter, HoldsAFailedBatchAndCommitsItWhenTheSpoolTakesItAgain) {
    Folder f;
    LogSpoolOptions options;
    options.bytes_max = std::uint64_t{16} << 20;
    options.shipping = true;  // nothing shipped: nothing may be pruned to make room
    auto spool = open_spool(f, 7, options);
    SpoolLogWriter writer(*spool, {"h", "vaultmxd", 1});
    const std::string filler(400, 'f');
    std::uint64_t written = 0;
    while (!writer.failing() && written < 200000) {
        for (int i = 0; i < 1000; ++i) writer.write(record_of("event=test.event n=" + std::to_string(++written) + " " + filler));
        writer.commit();
    }
    ASSERT_TRUE(writer.failing());
    EXPECT_GT(writer.held(), 0u);
    EXPECT_EQ(spool->dropped(), 0u);
    const std::uint64_t stored_before = spool->next_sequence() - 1;
    EXPECT_EQ(stored_before + writer.held(), written);

    // Past held_max the newest are dropped and counted, so memory stays bounded.
    const std::uint64_t extra = SpoolLogWriter::held_max;
    for (std::uint64_t i = 0; i < extra; ++i) writer.write(record_of("event=test.extra"));
    EXPECT_EQ(writer.held(), SpoolLogWriter::held_max);
    const std::uint64_t dropped = written + extra - stored_before - SpoolLogWriter::held_max;
    EXPECT_EQ(spool->dropped(), dropped);

    // The collector took everything: room returns, and the held events land in one commit.
    // Each try prunes a share of the shipped events, so a few may be needed.
    ASSERT_TRUE(spool->set_shipped(spool->next_sequence() - 1));
    for (int attempt = 0; attempt < 10 && writer.held() > 0; ++attempt) writer.commit();
    EXPECT_FALSE(writer.failing());
    EXPECT_EQ(writer.held(), 0u);
    EXPECT_EQ(spool->next_sequence() - 1, stored_before + SpoolLogWriter::held_max);
    auto events = spool->read(stored_before + 1, 2, 1 << 20);
    ASSERT_TRUE(events);
    ASSERT_EQ(events->size(), 2u);
    EXPECT_EQ(events->at(0).sequence, stored_before + 1);
    EXPECT_NE(events->at(0).line.find("n=" + std::to_string(stored_before + 1) + " "), std::string::npos);
    EXPECT_NE(events->at(0).line.find("seq=\"" + std::to_string(stored_before + 1) + "\""), std::string::npos);
}

}  // namespace
}  // namespace vmx
