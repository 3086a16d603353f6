// The audit log: append / read / verify, reopen, the "since" filter, limits and redaction, and
// tamper tests done offline on the real `audit` environment of an initialised data folder, the
// way an attacker with the files but without the master key would: flip a byte of data.mdb,
// delete, swap, truncate, forge with another key, roll the head back.
#include "appliance/audit/audit_log.h"

#include <gtest/gtest.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "appliance/audit/chain.h"
#include "crypto/errc.h"
#include "store/codec.h"
#include "store/errc.h"
#include "store/key_store.h"
#include "store/layout.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"

namespace vmx {
namespace {

using store::testing::TempDir;

constexpr std::int64_t t0 = 1'790'000'000;

store::StoreOptions small_options() {
    store::StoreOptions o;
    o.sizing.segments = 1;
    o.sizing.mail_map_mib = 1;
    o.sizing.queue_map_mib = 1;
    o.sizing.temp_map_mib = 1;
    o.sizing.global_map_mib = 1;
    o.sizing.map_mib_max = 4;
    return o;
}

crypto::Keyring ring_with_audit_key(std::uint8_t seed) {
    auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(seed));
    VMX_ASSERT(ring.ensure_scope_key(audit_scope, t0));
    return ring;
}

std::vector<std::uint8_t> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t count_in(const std::vector<std::uint8_t>& hay, std::string_view needle) {
    std::size_t n = 0;
    for (auto it = hay.begin();; ++it) {
        it = std::search(it, hay.end(), needle.begin(), needle.end());
        if (it == hay.end()) return n;
        ++n;
    }
}

AuditEntry entry(std::string command, std::vector<std::string> arguments, std::int64_t time_unix,
                 std::uint32_t uid = 0, AuditResult result = AuditResult::success()) {
    AuditEntry e;
    e.command = std::move(command);
    e.arguments = std::move(arguments);
    e.time_unix = time_unix;
    e.actor_uid = uid;
    e.result = std::move(result);
    return e;
}

// An initialised data folder with the audit log open on its global `audit` environment.
class AuditTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto made = store::StoreLayout::init(dir_.path() + "/data", small_options());
        ASSERT_TRUE(made);
        layout_ = std::make_unique<store::StoreLayout>(made->layout);
        open();
    }

    void open(AuditCreate create = AuditCreate::if_empty) {
        auto env = store::Env::open(audit_path(), layout_->env_options(store::GlobalKind::audit));
        ASSERT_TRUE(env);
        env_ = std::move(*env);
        auto log = AuditLog::open(*env_, keys_, create);
        ASSERT_TRUE(log) << log.error().message();
        log_ = std::make_unique<AuditLog>(std::move(*log));
    }
    void close() {
        log_.reset();
        env_.reset();
    }
    std::string audit_path() const { return layout_->path(store::GlobalKind::audit); }

    AuditAppended add(std::string command, std::vector<std::string> arguments, std::int64_t time_unix) {
        auto done = log_->append(entry(std::move(command), std::move(arguments), time_unix));
        VMX_ASSERT(done);
        return *done;
    }
    void add_three() {
        add("org add", {"acme", "--plan", "pro"}, t0 + 1);
        add("domain add", {"acme.example", "--org", "acme"}, t0 + 2);
        add("user add", {"alice@acme.example", "--password-stdin"}, t0 + 3);
    }

    // The attacker's tools: the closed environment opened raw, one write transaction, closed again.
    template <class Edit>
    void offline(Edit edit) {
        close();
        {
            auto env = store::Env::open(audit_path(), layout_->env_options(store::GlobalKind::audit));
            ASSERT_TRUE(env);
            auto dbi = (*env)->open_dbi("audit");
            ASSERT_TRUE(dbi);
            auto txn = store::WriteTxn::begin(**env);
            ASSERT_TRUE(txn);
            edit(*txn, *dbi);
            ASSERT_TRUE(txn->commit());
        }
        open(AuditCreate::never);
    }
    std::vector<std::uint8_t> raw_value(const store::RecordKeyBytes& key) {
        auto txn = store::ReadTxn::begin(*env_);
        VMX_ASSERT(txn);
        auto v = txn->get(log_->dbi(), key);
        VMX_ASSERT(v);
        return {v->begin(), v->end()};
    }

    TempDir dir_;
    std::unique_ptr<store::StoreLayout> layout_;
    crypto::Keyring ring_ = ring_with_audit_key(0x21);
    std::shared_ptr<const crypto::KeySet> keys_ = ring_.snapshot();
    std::unique_ptr<store::Env> env_;
    std::unique_ptr<AuditLog> log_;
};

// ---- append, read, verify ----

TEST_F(AuditTest, AnEmptyLogVerifies) {
    const AuditVerifyReport r = log_->verify();
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.entries, 0u);
    EXPECT_EQ(r.head_sequence, 0u);
    auto all = log_->read(0, 100);
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->empty());
}

TEST_F(AuditTest, AppendReadVerify) {
    const AuditAppended a = add("org add", {"acme", "--plan", "pro"}, t0 + 1);
    EXPECT_EQ(a.sequence, 1u);
    auto failed = log_->append(entry("domain add", {"x.example", "--org", "nope"}, t0 + 2, 1000,
                                     AuditResult::failure("not_found", "no organisation nope")));
    ASSERT_TRUE(failed);
    EXPECT_EQ(failed->sequence, 2u);

    auto all = log_->read(0, 100);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 2u);
    const AuditEntry& first = (*all)[0];
    EXPECT_EQ(first.sequence, 1u);
    EXPECT_EQ(first.time_unix, t0 + 1);
    EXPECT_EQ(first.actor_uid, 0u);
    EXPECT_EQ(first.command, "org add");
    EXPECT_EQ(first.arguments, (std::vector<std::string>{"acme", "--plan", "pro"}));
    EXPECT_EQ(first.result, AuditResult::success());
    EXPECT_EQ(first.previous_hash, AuditHash{});
    const AuditEntry& second = (*all)[1];
    EXPECT_EQ(second.sequence, 2u);
    EXPECT_EQ(second.actor_uid, 1000u);
    EXPECT_EQ(second.result.outcome, AuditOutcome::error);
    EXPECT_EQ(second.result.error_class, "not_found");
    EXPECT_EQ(second.previous_hash, a.hash);

    const AuditVerifyReport r = log_->verify();
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.entries, 2u);
    EXPECT_EQ(r.head_sequence, 2u);
    EXPECT_EQ(r.head_hash, failed->hash);
    EXPECT_EQ(format_audit_verify(r), "audit: ok: 2 entries, head 2 sha256 " + audit_hash_hex(failed->hash));
}

// hash_n = SHA-256(hash_{n-1} || encode(entry n)), recomputed here with wolfCrypt directly.
TEST_F(AuditTest, TheChainIsShaTwoFiftySixOverThePreviousHashAndTheEncoding) {
    add_three();
    auto all = log_->read(0, 100);
    ASSERT_TRUE(all);
    AuditHash previous{};
    for (const AuditEntry& e : *all) {
        EXPECT_EQ(e.previous_hash, previous);
        auto encoded = encode_audit_entry(e);
        ASSERT_TRUE(encoded);
        std::vector<std::uint8_t> input(previous.begin(), previous.end());
        input.insert(input.end(), encoded->begin(), encoded->end());
        ASSERT_EQ(wc_Sha256Hash(input.data(), static_cast<word32>(input.size()), previous.data()), 0);
    }
    EXPECT_EQ(log_->verify().head_hash, previous);
}

TEST_F(AuditTest, ReopenKeepsTheChain) {
    add_three();
    const AuditHash before = log_->verify().head_hash;
    close();
    open(AuditCreate::never);
    EXPECT_EQ(log_->verify().head_hash, before);
    const AuditAppended next = add("user disable", {"alice@acme.example"}, t0 + 4);
    EXPECT_EQ(next.sequence, 4u);
    auto all = log_->read(0, 100);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 4u);
    EXPECT_EQ((*all)[3].previous_hash, before);
    const AuditVerifyReport r = log_->verify();
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.entries, 4u);
}

TEST_F(AuditTest, SinceKeepsTheNewestEntriesInOrder) {
    for (int i = 1; i <= 4; ++i) add("stats", {}, t0 + 100 * i);
    auto since = log_->read(t0 + 250, 10);
    ASSERT_TRUE(since);
    ASSERT_EQ(since->size(), 2u);
    EXPECT_EQ((*since)[0].time_unix, t0 + 300);
    EXPECT_EQ((*since)[1].time_unix, t0 + 400);
    auto newest = log_->read(0, 2);
    ASSERT_TRUE(newest);
    ASSERT_EQ(newest->size(), 2u);
    EXPECT_EQ((*newest)[0].sequence, 3u);
    EXPECT_EQ((*newest)[1].sequence, 4u);
    auto exact = log_->read(t0 + 400, 10);
    ASSERT_TRUE(exact);
    EXPECT_EQ(exact->size(), 1u);
    auto future = log_->read(t0 + 401, 10);
    ASSERT_TRUE(future);
    EXPECT_TRUE(future->empty());
    auto none = log_->read(0, 0);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

TEST_F(AuditTest, AClockSetBackNeverMakesTimeGoBackwards) {
    add("stats", {}, t0 + 100);
    const AuditAppended late = add("stats", {}, t0 + 50);
    EXPECT_EQ(late.time_unix, t0 + 100);
    auto since = log_->read(t0 + 100, 10);
    ASSERT_TRUE(since);
    EXPECT_EQ(since->size(), 2u);
    EXPECT_TRUE(log_->verify().ok());
}

TEST_F(AuditTest, AnEmptyCommandIsRefused) {
    auto r = log_->append(entry("", {}, t0));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), store::StoreErrc::invalid_request);
    auto inconsistent = entry("stats", {}, t0);
    inconsistent.result.error_class = "x";  // an ok result carries no error class
    EXPECT_FALSE(log_->append(inconsistent));
    EXPECT_TRUE(log_->verify().ok());
}

// The environment starts with a 1 MiB map here; large entries fill it and append grows it.
TEST_F(AuditTest, AFullMapIsGrownAndTheAppendRetried) {
    const std::size_t map_before = env_->map_bytes();
    const std::vector<std::string> wide(audit_arguments_max, std::string(audit_argument_bytes_max, 'w'));
    std::uint64_t last = 0;
    for (int i = 0; i < 160; ++i) {
        auto done = log_->append(entry("org policy", wide, t0 + i));
        ASSERT_TRUE(done) << i << ": " << done.error().message();
        last = done->sequence;
    }
    EXPECT_EQ(last, 160u);
    EXPECT_GT(env_->map_bytes(), map_before);
    const AuditVerifyReport r = log_->verify();
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.entries, 160u);
}

// ---- redaction ----

TEST(AuditRedactTest, SecretOptionValuesAreReplaced) {
    const std::vector<std::string> in{"alice@example.org", "--password",        "Hunter2-Secret",
                                      "--token=Tok-77",    "--password-stdin",  "bob@example.org",
                                      "--Secret",          "s3",                "--app-password=ap",
                                      "--master-key-file=/etc/k", "--quota",    "2G"};
    const std::vector<std::string> out{"alice@example.org", "--password",          "<redacted>",
                                       "--token=<redacted>", "--password-stdin",   "bob@example.org",
                                       "--Secret",           "<redacted>",         "--app-password=<redacted>",
                                       "--master-key-file=<redacted>", "--quota", "2G"};
    EXPECT_EQ(redact_arguments(in), out);
    EXPECT_EQ(redact_arguments(out), out);  // idempotent
    EXPECT_TRUE(is_secret_option("--PASSWORD"));
    EXPECT_FALSE(is_secret_option("--password-stdin"));
    EXPECT_FALSE(is_secret_option("--label"));
    const std::vector<std::string> trailing{"user", "--password"};
    EXPECT_EQ(redact_arguments(trailing), trailing);  // nothing after it to hide
}

TEST_F(AuditTest, APasswordArgumentIsNeverStored) {
    const std::string password = "Zebulon-Hunter2-Secret";
    const std::string token = "TokValue-9f3e77";
    // The caller forgot to redact: append redacts anyway.
    add("user passwd", {"alice@acme.example", "--password", password, "--token=" + token}, t0);
    auto all = log_->read(0, 10);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ((*all)[0].arguments,
              (std::vector<std::string>{"alice@acme.example", "--password", "<redacted>", "--token=<redacted>"}));
    close();
    // Every file of the environment, every byte: no secret, and no customer address in the clear.
    std::size_t files = 0;
    for (const auto& f : std::filesystem::directory_iterator(audit_path())) {
        const auto bytes = file_bytes(f.path().string());
        ++files;
        EXPECT_EQ(count_in(bytes, password), 0u) << f.path();
        EXPECT_EQ(count_in(bytes, token), 0u) << f.path();
        EXPECT_EQ(count_in(bytes, "alice@acme.example"), 0u) << f.path();
        EXPECT_EQ(count_in(bytes, "user passwd"), 0u) << f.path();
    }
    EXPECT_GE(files, 1u);
}

// ---- limits and the encoding ----

TEST(AuditEntryTest, FieldsAreCutToTheirLimits) {
    auto e = entry("user add", {}, t0);
    for (int i = 0; i < 40; ++i) e.arguments.push_back("a" + std::to_string(i));
    e.arguments[0] = std::string(300, 'x');
    // "é" (2 bytes) straddles the cut at audit_argument_bytes_max - 3.
    e.arguments[1] = std::string(audit_argument_bytes_max - 4, 'y') + "\xC3\xA9\xC3\xA9z";
    e.result = AuditResult::failure(std::string(50, 'c'), std::string(1000, 'm'));
    auto n = normalise_audit_entry(e);
    ASSERT_TRUE(n);
    ASSERT_EQ(n->arguments.size(), audit_arguments_max);
    EXPECT_EQ(n->arguments.back(), "(9 more)");
    EXPECT_EQ(n->arguments[0].size(), audit_argument_bytes_max);
    EXPECT_TRUE(n->arguments[0].ends_with("..."));
    EXPECT_EQ(n->arguments[1], std::string(audit_argument_bytes_max - 4, 'y') + "...");  // no half character
    EXPECT_EQ(n->result.error_class.size(), audit_error_class_bytes_max);
    EXPECT_EQ(n->result.message.size(), audit_message_bytes_max);
    EXPECT_TRUE(encode_audit_entry(*n));
    EXPECT_FALSE(encode_audit_entry(e));  // unnormalised: over the limits
}

TEST(AuditEntryTest, DecodeAcceptsOnlyTheCanonicalEncoding) {
    auto e = entry("user add", {"a@b.example", "--quota", "2G"}, t0, 7,
                   AuditResult::failure("invalid_argument", "bad quota"));
    e.sequence = 9;
    e.previous_hash[0] = 0xAB;
    auto bytes = encode_audit_entry(e);
    ASSERT_TRUE(bytes);
    auto back = decode_audit_entry(*bytes);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, e);
    auto longer = *bytes;
    longer.push_back(0);
    EXPECT_EQ(decode_audit_entry(longer).error(), store::StoreErrc::corrupt);
    auto shorter = *bytes;
    shorter.pop_back();
    EXPECT_EQ(decode_audit_entry(shorter).error(), store::StoreErrc::corrupt);
    auto other_format = *bytes;
    other_format[0] = 2;
    EXPECT_FALSE(decode_audit_entry(other_format));
    for (std::size_t cut = 0; cut < bytes->size(); ++cut)
        EXPECT_FALSE(decode_audit_entry(std::span(*bytes).first(cut))) << cut;
}

TEST(AuditEntryTest, ShowLinesQuoteWhatCouldForgeALine) {
    auto e = entry("user add", {"alice@example.org", "--password-stdin"}, 1'700'000'000, 0);
    e.sequence = 42;
    EXPECT_EQ(format_audit_entry(e), "42 2023-11-14T22:13:20Z uid=0 user add alice@example.org --password-stdin: ok");
    e.arguments = {"two words", "line\nbreak", ""};
    e.result = AuditResult::failure("invalid_argument", "bad\naddress");
    EXPECT_EQ(format_audit_entry(e),
              "42 2023-11-14T22:13:20Z uid=0 user add \"two words\" \"line\\nbreak\" \"\": error invalid_argument: "
              "bad\\naddress");
}

// ---- tamper tests, offline on the environment's files ----

TEST_F(AuditTest, AFlippedByteInTheFileIsFoundAtItsEntry) {
    add_three();
    const auto sealed = raw_value(audit_entry_key(2));
    close();
    const std::string data = audit_path() + "/data.mdb";
    auto file = file_bytes(data);
    // Copy-on-write may leave stale copies of the page: change the byte in every copy.
    const std::size_t at = crypto::sealed_header_bytes + 3;  // inside the ciphertext
    std::size_t flipped = 0;
    for (auto it = file.begin();; ++it) {
        it = std::search(it, file.end(), sealed.begin(), sealed.end());
        if (it == file.end()) break;
        it[static_cast<std::ptrdiff_t>(at)] ^= 0x01;
        ++flipped;
    }
    ASSERT_GE(flipped, 1u);
    {
        std::ofstream out(data, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    }
    open(AuditCreate::never);
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::changed) << r.detail;
    EXPECT_EQ(r.bad_sequence, 2u);
    EXPECT_EQ(r.entries, 1u);
    EXPECT_NE(format_audit_verify(r).find("audit: FAILED at entry 2: changed: entry 2 does not open"), std::string::npos)
        << format_audit_verify(r);
    EXPECT_FALSE(log_->read(0, 10));  // show refuses too, rather than skip it
}

// What an integration test can do without knowing any value: change one byte inside every sealed
// record of data.mdb (found by the record prefix "vx" 2 3: a one-chunk stream), live pages and stale
// copies alike.
TEST_F(AuditTest, AByteChangedInEverySealedRecordOfTheFileIsFound) {
    add_three();
    close();
    const std::string data = audit_path() + "/data.mdb";
    auto file = file_bytes(data);
    const std::string magic{'v', 'x', '\x02', '\x03'};
    std::size_t records = 0;
    for (auto it = file.begin();; it += 4) {
        it = std::search(it, file.end(), magic.begin(), magic.end());
        if (it == file.end() || file.end() - it < 100) break;
        it[80] ^= 0x80;  // inside the ciphertext
        ++records;
    }
    ASSERT_GE(records, 4u);  // three entries and the head, at least
    {
        std::ofstream out(data, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    }
    open(AuditCreate::never);
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::changed) << r.detail;
    EXPECT_EQ(r.bad_sequence, 1u);
}

// Someone holding the key rewrites an entry with a valid seal: the next entry's previous hash
// no longer matches, so the chain shows where.
TEST_F(AuditTest, AnEntryRewrittenWithTheKeyBreaksTheChainAtTheNextEntry) {
    add_three();
    auto all = log_->read(0, 10);
    ASSERT_TRUE(all);
    AuditEntry two = (*all)[1];
    two.arguments = {"other.example", "--org", "acme"};
    auto encoded = encode_audit_entry(two);
    ASSERT_TRUE(encoded);
    auto sealed = store::seal_value(*keys_, audit_scope, audit_entry_identity(2), *encoded, store::Compress::never);
    ASSERT_TRUE(sealed);
    offline([&](store::WriteTxn& txn, store::Dbi dbi) { ASSERT_TRUE(txn.put(dbi, audit_entry_key(2), *sealed)); });
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::changed) << r.detail;
    EXPECT_EQ(r.bad_sequence, 3u);
    EXPECT_EQ(r.detail, "entry 3 does not carry the hash of entry 2: the chain was rewritten");
    auto next = log_->append(entry("stats", {}, t0 + 9));  // append checks only the tail
    ASSERT_TRUE(next);
    EXPECT_EQ(next->sequence, 4u);
}

TEST_F(AuditTest, ARemovedEntryIsFound) {
    add_three();
    offline([](store::WriteTxn& txn, store::Dbi dbi) { ASSERT_TRUE(txn.erase(dbi, audit_entry_key(2))); });
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::removed) << r.detail;
    EXPECT_EQ(r.bad_sequence, 2u);
    EXPECT_EQ(r.detail, "entry 2 is missing (the next entry present is 3)");
}

TEST_F(AuditTest, SwappedEntriesAreFoundAsReordered) {
    add_three();
    const auto two = raw_value(audit_entry_key(2));
    const auto three = raw_value(audit_entry_key(3));
    offline([&](store::WriteTxn& txn, store::Dbi dbi) {
        ASSERT_TRUE(txn.put(dbi, audit_entry_key(2), three));
        ASSERT_TRUE(txn.put(dbi, audit_entry_key(3), two));
    });
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::reordered) << r.detail;
    EXPECT_EQ(r.bad_sequence, 2u);
    EXPECT_EQ(r.detail, "entry 2 holds the sealed value of entry 3: entries were moved or swapped");
}

TEST_F(AuditTest, ADeletedLastEntryIsFoundByTheHead) {
    add_three();
    offline([](store::WriteTxn& txn, store::Dbi dbi) { ASSERT_TRUE(txn.erase(dbi, audit_entry_key(3))); });
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::truncated) << r.detail;
    EXPECT_EQ(r.bad_sequence, 3u);
    EXPECT_EQ(r.detail, "entry 3 is missing: the log was truncated");
    // Nothing is appended on a broken chain.
    auto more = log_->append(entry("stats", {}, t0 + 9));
    ASSERT_FALSE(more);
    EXPECT_EQ(more.error(), store::StoreErrc::corrupt);
}

// Deleting the last entry and the head together: without the key the head cannot be rewritten to
// match, so its absence is the finding.
TEST_F(AuditTest, DeletingTheLastEntryAndTheHeadIsFound) {
    add_three();
    offline([](store::WriteTxn& txn, store::Dbi dbi) {
        ASSERT_TRUE(txn.erase(dbi, audit_entry_key(3)));
        ASSERT_TRUE(txn.erase(dbi, audit_head_key()));
    });
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::truncated) << r.detail;
    EXPECT_EQ(r.bad_sequence, 3u);
    EXPECT_EQ(r.detail, "the chain head is missing: entries after 2 may have been removed");
    EXPECT_EQ(log_->append(entry("stats", {}, t0 + 9)).error(), store::StoreErrc::corrupt);
}

// Emptying the whole log: the daemon opens with AuditCreate::never, so it does not start a new
// chain over the hole.
TEST_F(AuditTest, AnEmptiedLogIsFoundAndNotRestarted) {
    add_three();
    offline([](store::WriteTxn& txn, store::Dbi dbi) {
        for (std::uint64_t s = 1; s <= 3; ++s) ASSERT_TRUE(txn.erase(dbi, audit_entry_key(s)));
        ASSERT_TRUE(txn.erase(dbi, audit_head_key()));
    });
    const AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::truncated) << r.detail;
    EXPECT_EQ(r.detail, "the chain head is missing: the log was emptied or replaced");
    EXPECT_FALSE(log_->append(entry("stats", {}, t0 + 9)));
}

// An attacker without the master key seals with a key of their own: the key reference in the
// record names our key id, the KEK derived from our key does not unwrap their DEK.
TEST_F(AuditTest, AnEntryOrHeadForgedWithoutTheKeyIsFound) {
    add_three();
    const auto forger = ring_with_audit_key(0x66).snapshot();
    auto forged = entry("user add", {"mallory@acme.example"}, t0 + 4);
    forged.sequence = 4;
    forged.previous_hash = log_->verify().head_hash;
    auto encoded = encode_audit_entry(forged);
    ASSERT_TRUE(encoded);
    auto hash = audit_chain_hash(forged.previous_hash, *encoded);
    ASSERT_TRUE(hash);
    auto sealed_entry =
        store::seal_value(*forger, audit_scope, audit_entry_identity(4), *encoded, store::Compress::never);
    ASSERT_TRUE(sealed_entry);
    std::vector<std::uint8_t> head{audit_entry_format_version, 4, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i) head.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(t0 + 4) >> (8 * i)));
    head.insert(head.end(), hash->begin(), hash->end());
    auto sealed_head =
        store::seal_value(*forger, audit_scope, audit_head_identity(), head, store::Compress::never);
    ASSERT_TRUE(sealed_head);

    offline([&](store::WriteTxn& txn, store::Dbi dbi) { ASSERT_TRUE(txn.put(dbi, audit_entry_key(4), *sealed_entry)); });
    AuditVerifyReport r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::changed) << r.detail;
    EXPECT_EQ(r.bad_sequence, 4u);

    offline([&](store::WriteTxn& txn, store::Dbi dbi) { ASSERT_TRUE(txn.put(dbi, audit_head_key(), *sealed_head)); });
    r = log_->verify();
    EXPECT_EQ(r.bad_sequence, 4u);  // still the forged entry first

    // Only the head forged, to hide a deleted tail: the head does not open.
    offline([&](store::WriteTxn& txn, store::Dbi dbi) {
        ASSERT_TRUE(txn.erase(dbi, audit_entry_key(4)));
        ASSERT_TRUE(txn.erase(dbi, audit_entry_key(3)));
    });
    r = log_->verify();
    EXPECT_EQ(r.fault, AuditFault::changed) << r.detail;
    EXPECT_EQ(r.bad_sequence, 0u);
    EXPECT_NE(format_audit_verify(r).find("audit: FAILED at the chain head: changed"), std::string::npos);
}

// The limit of what the file alone can show: an old sealed head, copied back over a truncated
// tail, is a valid earlier state of the log. Only a head kept elsewhere (each AuditAppended is
// logged to the shipped log) reveals it; the test pins that limit so a change to it is deliberate.
TEST_F(AuditTest, AnOldHeadPutBackNeedsAHeadKeptElsewhere) {
    add("org add", {"acme"}, t0 + 1);
    add("domain add", {"acme.example"}, t0 + 2);
    const auto old_head = raw_value(audit_head_key());
    const AuditAppended shipped = add("user add", {"alice@acme.example"}, t0 + 3);
    offline([&](store::WriteTxn& txn, store::Dbi dbi) {
        ASSERT_TRUE(txn.erase(dbi, audit_entry_key(3)));
        ASSERT_TRUE(txn.put(dbi, audit_head_key(), old_head));
    });
    const AuditVerifyReport r = log_->verify();
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_LT(r.head_sequence, shipped.sequence);  // what a comparison with the shipped log finds
}

// ---- keys ----

TEST_F(AuditTest, AppendNeedsTheApplianceKey) {
    close();
    auto bare = crypto::Keyring::create(vmx::testing::fixed_master_key(0x21));
    auto env = store::Env::open(audit_path(), layout_->env_options(store::GlobalKind::audit));
    ASSERT_TRUE(env);
    auto log = AuditLog::open(**env, bare.snapshot(), AuditCreate::never);
    ASSERT_TRUE(log);
    EXPECT_FALSE(log->append(entry("stats", {}, t0)));
}

TEST(AuditKeyTest, EnsureAuditKeyCreatesAndSavesTheApplianceKeyOnce) {
    TempDir dir;
    auto made = store::StoreLayout::init(dir.path() + "/data", small_options());
    ASSERT_TRUE(made);
    const auto& layout = made->layout;
    auto env = store::Env::open(layout.path(store::GlobalKind::keys), layout.env_options(store::GlobalKind::keys));
    ASSERT_TRUE(env);
    auto key_store = store::KeyStore::open(**env);
    ASSERT_TRUE(key_store);
    auto ring = key_store->load(vmx::testing::fixed_master_key(0x31));
    ASSERT_TRUE(ring);
    EXPECT_FALSE(ring->snapshot()->active(audit_scope));
    auto first = ensure_audit_key(*ring, *key_store, t0);
    ASSERT_TRUE(first);
    auto again = ensure_audit_key(*ring, *key_store, t0 + 1);
    ASSERT_TRUE(again);
    EXPECT_EQ(*first, *again);
    EXPECT_EQ(ring->records().size(), 1u);
    auto reloaded = key_store->load(vmx::testing::fixed_master_key(0x31));
    ASSERT_TRUE(reloaded);
    auto active = reloaded->snapshot()->active(audit_scope);
    ASSERT_TRUE(active);
    EXPECT_EQ(active->ref, *first);
}

// A rotation of the appliance key: the rewrap job moves every entry and the head; the chain is
// untouched (the hash is over the plaintext) and verifies under the new key alone.
TEST_F(AuditTest, RotatingTheApplianceKeyKeepsTheChain) {
    add_three();
    const AuditHash before = log_->verify().head_hash;
    auto old_ref = keys_->active(audit_scope);
    ASSERT_TRUE(old_ref);
    ASSERT_TRUE(ring_.rotate(old_ref->ref.key_id, t0 + 10));
    keys_ = ring_.snapshot();
    log_->set_keys(keys_);
    auto job = log_->rewrap_job();
    ASSERT_TRUE(job);
    for (int i = 0; i < 10 && !job->progress().done; ++i) ASSERT_TRUE(job->step(*keys_, 2));
    EXPECT_EQ(job->progress().rewrapped, 4u);  // three entries and the head
    ASSERT_TRUE(ring_.finish_retirement(old_ref->ref));
    keys_ = ring_.snapshot();
    log_->set_keys(keys_);
    const AuditVerifyReport r = log_->verify();
    EXPECT_TRUE(r.ok()) << r.detail;
    EXPECT_EQ(r.head_hash, before);
    EXPECT_EQ(add("stats", {}, t0 + 11).sequence, 4u);
    EXPECT_TRUE(log_->verify().ok());
}

}  // namespace
}  // namespace vmx
