// The load harness's pure pieces: sizes, message bodies, the SMTP and POP3 client engines fed
// server transcripts (in one block and byte by byte), the multi-line scanner, latency summaries,
// the --rate schedule and the budget.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "benchmarks/mail/load_stats.h"
#include "benchmarks/mail/message_source.h"
#include "benchmarks/mail/pace_schedule.h"
#include "benchmarks/mail/pop3_client.h"
#include "benchmarks/mail/smtp_client.h"

namespace vmx::bench {
namespace {

// ------------------------------------------------------------------ sizes and bodies

TEST(MailLoadSizes, ParsesUnitsAndRefusesTheRest) {
    EXPECT_EQ(*parse_size("10k"), 10240u);
    EXPECT_EQ(*parse_size("1m"), 1048576u);
    EXPECT_EQ(*parse_size(" 2048 "), 2048u);
    for (const char* bad : {"", "k", "10x", "-5", "10kk", "1.5k", "100", "65m", "99999999999999999999"})
        EXPECT_FALSE(parse_size(bad)) << bad;
}

TEST(MailLoadSizes, DistributionFileNamesTheBadLine) {
    std::string error;
    auto sizes = parse_size_dist("# sizes\n4k 50\n\n10k 30  # most\n1m 5\n", error);
    ASSERT_TRUE(sizes) << error;
    ASSERT_EQ(sizes->size(), 3u);
    EXPECT_EQ((*sizes)[1].bytes, 10240u);
    EXPECT_EQ((*sizes)[1].weight, 30u);
    EXPECT_FALSE(parse_size_dist("4k 50\n10k\n", error));
    EXPECT_NE(error.find("line 2"), std::string::npos) << error;
    EXPECT_FALSE(parse_size_dist("4k 0\n", error));
    EXPECT_FALSE(parse_size_dist("", error));
    EXPECT_FALSE(parse_size_dist("4k fifty\n", error));
}

// Every line ends in CRLF, none is longer than 998 bytes, none starts with '.'.
void expect_wire_clean(const std::string& body) {
    ASSERT_GE(body.size(), 2u);
    EXPECT_EQ(body.substr(body.size() - 2), "\r\n");
    std::size_t start = 0;
    while (start < body.size()) {
        const std::size_t nl = body.find('\n', start);
        ASSERT_NE(nl, std::string::npos);
        ASSERT_GT(nl, start) << "bare LF at " << nl;
        ASSERT_EQ(body[nl - 1], '\r') << "bare LF at " << nl;
        EXPECT_LE(nl - 1 - start, 998u);
        EXPECT_NE(body[start], '.') << "line starting with a dot at " << start;
        EXPECT_EQ(body.find('\r', start), nl - 1) << "bare CR in line at " << start;
        start = nl + 1;
    }
}

TEST(MailLoadBodies, SizesShapesAndUniqueness) {
    MessageSource source({{10240, 1}}, 42, "0.run@test.invalid");
    std::set<std::string> ids;
    std::set<std::string> bodies;
    for (const std::size_t size : {512u, 1024u, 10240u, 16384u, 102400u, 1048576u}) {
        std::string body, id;
        source.build(size, "a@b.test", {"c@d.test", "e@f.test"}, body, id);
        const double tolerance = std::max(200.0, 0.01 * static_cast<double>(size));
        EXPECT_NEAR(static_cast<double>(body.size()), static_cast<double>(size), tolerance) << size;
        expect_wire_clean(body);
        EXPECT_NE(body.find("Message-ID: " + id + "\r\n"), std::string::npos);
        EXPECT_NE(body.find("From: Load Sender <a@b.test>"), std::string::npos);
        EXPECT_NE(body.find("<c@d.test>,\r\n <e@f.test>"), std::string::npos);
        EXPECT_NE(body.find("MIME-Version: 1.0"), std::string::npos);
        const bool attachment = size >= attachment_bytes_min;
        EXPECT_EQ(body.find("Content-Transfer-Encoding: base64") != std::string::npos, attachment) << size;
        EXPECT_EQ(body.find("text/html") != std::string::npos, !attachment) << size;
        ids.insert(id);
        bodies.insert(body);
    }
    EXPECT_EQ(ids.size(), 6u);
    std::string a, b, id;
    source.build(10240, "a@b.test", {"c@d.test"}, a, id);
    source.build(10240, "a@b.test", {"c@d.test"}, b, id);
    EXPECT_NE(a, b);
}

TEST(MailLoadBodies, DistributionDrawsEverySizeWithWeight) {
    MessageSource source({{1024, 1}, {4096, 0}, {8192, 3}}, 7, "x@test.invalid");
    std::size_t small = 0, large = 0;
    for (int i = 0; i < 4000; ++i) {
        const std::size_t s = source.next_size();
        ASSERT_NE(s, 4096u);  // weight zero: never drawn
        (s == 1024 ? small : large)++;
    }
    EXPECT_GT(small, 700u);
    EXPECT_GT(large, 2500u);
}

// ------------------------------------------------------------------ SMTP client

// The server says `text`, fed to the client in one block or byte by byte; act gets what it did.
void feed_server(LoadClient& client, ClientActions& act, const std::string& text, bool bytewise) {
    act = {};
    if (!bytewise) return client.feed(text, 1000, act);
    for (const char c : text) client.feed(std::string_view(&c, 1), 1000, act);
}

struct SmtpFixture {
    SmtpLoadOptions options;
    MessageSource source{{{1024, 1}}, 1, "t@test.invalid"};
    WorkBudget budget{0, 0};
    LoadStats stats;
    std::string ack_log;
    SmtpThreadContext context{options, source, budget, stats, &ack_log};
    SmtpClient client{context};
    ClientActions act;

    SmtpFixture() {
        options.from = "s@src.test";
        options.rcpts = {"r1@dst.test", "r2@dst.test", "r3@dst.test"};
        options.msgs_per_conn = 2;
    }
    void server(const std::string& text, bool bytewise = false) { feed_server(client, act, text, bytewise); }
};

class SmtpClientTest : public ::testing::TestWithParam<bool> {};

TEST_P(SmtpClientTest, TwoTransactionsThenQuit) {
    const bool bytewise = GetParam();
    SmtpFixture f;
    f.server("220 mx.test ESMTP\r\n", bytewise);
    EXPECT_EQ(f.act.out, "EHLO loadgen.vaultmx-bench.invalid\r\n");
    f.server("250-mx.test\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n", bytewise);
    EXPECT_EQ(f.act.out.rfind("MAIL FROM:<s@src.test> SIZE=", 0), 0u) << f.act.out;
    f.server("250 2.1.0 Ok\r\n", bytewise);
    EXPECT_EQ(f.act.out, "RCPT TO:<r1@dst.test>\r\n");
    f.server("250 2.1.5 Ok\r\n", bytewise);
    EXPECT_EQ(f.act.out, "DATA\r\n");
    f.server("354 go ahead\r\n", bytewise);
    EXPECT_GT(f.act.out.size(), 900u);
    EXPECT_EQ(f.act.out.substr(f.act.out.size() - 5), "\r\n.\r\n");
    EXPECT_EQ(f.stats.messages, 0u);  // not before the 250 after the dot
    f.server("250 2.0.0 queued\r\n", bytewise);
    EXPECT_EQ(f.stats.messages, 1u);
    EXPECT_EQ(f.stats.transactions, 1u);
    EXPECT_EQ(f.stats.latency_us[static_cast<std::size_t>(Step::transaction)].size(), 1u);
    EXPECT_EQ(f.act.out.rfind("MAIL FROM:<s@src.test> SIZE=", 0), 0u) << f.act.out;  // the second message
    f.server("250 ok\r\n250 ok\r\n", bytewise);  // its MAIL and RCPT
    EXPECT_EQ(f.act.out, "RCPT TO:<r2@dst.test>\r\nDATA\r\n");
    f.server("354 go\r\n", bytewise);
    f.server("250 queued\r\n", bytewise);
    EXPECT_EQ(f.act.out, "QUIT\r\n");  // msgs_per_conn reached
    f.server("221 bye\r\n", bytewise);
    EXPECT_TRUE(f.act.close);
    EXPECT_TRUE(f.client.finished());
    EXPECT_EQ(f.stats.messages, 2u);
    EXPECT_EQ(f.stats.sessions, 1u);
    EXPECT_TRUE(f.stats.errors.empty());
    // The ack log names each acknowledged message and its recipient, round-robin.
    EXPECT_EQ(f.ack_log, "<1.t@test.invalid> r1@dst.test\n<2.t@test.invalid> r2@dst.test\n");
}

INSTANTIATE_TEST_SUITE_P(BlockAndBytes, SmtpClientTest, ::testing::Values(false, true));

TEST(SmtpClient, PipelinedGroupAndRefusedRecipientsCountedByCode) {
    SmtpFixture f;
    f.options.pipelining = true;
    f.options.rcpts_per_msg = 3;
    f.options.msgs_per_conn = 1;
    f.server("220 mx\r\n");
    f.server("250-mx\r\n250 PIPELINING\r\n");
    EXPECT_EQ(f.act.out,
              "MAIL FROM:<s@src.test>\r\nRCPT TO:<r1@dst.test>\r\nRCPT TO:<r2@dst.test>\r\nRCPT TO:<r3@dst.test>\r\n"
              "DATA\r\n");
    f.server("250 ok\r\n550 5.1.1 unknown\r\n250 ok\r\n452 4.2.2 full\r\n354 go\r\n");
    EXPECT_EQ(f.act.out.substr(f.act.out.size() - 5), "\r\n.\r\n");
    f.server("250 queued\r\n");
    EXPECT_EQ(f.stats.messages, 1u);
    EXPECT_EQ(f.stats.recipients, 1u);
    EXPECT_EQ(f.stats.errors["550"], 1u);
    EXPECT_EQ(f.stats.errors["452"], 1u);
    EXPECT_NE(f.ack_log.find("> r2@dst.test\n"), std::string::npos) << f.ack_log;
}

TEST(SmtpClient, MailRefusedInAGroupCountsOnceAndSendsNoBody) {
    SmtpFixture f;
    f.options.pipelining = true;
    f.options.msgs_per_conn = 1;
    f.server("220 mx\r\n250-mx\r\n250 PIPELINING\r\n");
    f.server("451 4.3.0 try later\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n");
    EXPECT_EQ(f.act.out, "RSET\r\n");
    f.server("250 ok\r\n");
    EXPECT_EQ(f.act.out, "QUIT\r\n");
    EXPECT_EQ(f.stats.errors_total(), 1u);
    EXPECT_EQ(f.stats.errors["451"], 1u);
    EXPECT_EQ(f.stats.messages, 0u);
}

TEST(SmtpClient, EveryRecipientRefusedResetsWithoutData) {
    SmtpFixture f;
    f.options.msgs_per_conn = 1;
    f.server("220 mx\r\n250 mx\r\n250 ok\r\n");
    f.server("550 5.7.1 relay denied\r\n");
    EXPECT_EQ(f.act.out, "RSET\r\n");
    EXPECT_EQ(f.stats.errors["550"], 1u);
}

TEST(SmtpClient, RefusedDataAndRefusedMessageAreErrors) {
    SmtpFixture f;
    f.server("220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n");
    f.server("554 5.5.1 no\r\n");
    EXPECT_EQ(f.act.out, "RSET\r\n");
    f.server("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    f.server("552 5.3.4 too big\r\n");
    EXPECT_EQ(f.stats.errors["554"], 1u);
    EXPECT_EQ(f.stats.errors["552"], 1u);
    EXPECT_EQ(f.stats.messages, 0u);
}

TEST(SmtpClient, StartTlsDiscardsWhatFollowsThe220) {
    SmtpFixture f;
    f.options.tls = TlsStart::starttls;
    f.server("220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
    EXPECT_EQ(f.act.out, "EHLO loadgen.vaultmx-bench.invalid\r\nSTARTTLS\r\n");
    // A man in the middle appends a reply to the 220: it must not be taken as said after TLS.
    f.server("220 ready\r\n250 injected\r\n");
    EXPECT_TRUE(f.act.start_tls);
    EXPECT_EQ(f.act.out, "");
    f.act = {};
    f.client.on_tls_started(2000, f.act);
    EXPECT_EQ(f.act.out, "EHLO loadgen.vaultmx-bench.invalid\r\n");
    f.server("250-mx\r\n250 PIPELINING\r\n");
    EXPECT_EQ(f.act.out.rfind("MAIL FROM:", 0), 0u) << f.act.out;
    EXPECT_TRUE(f.stats.errors.empty());
}

TEST(SmtpClient, StartTlsNotOfferedEndsTheSession) {
    SmtpFixture f;
    f.options.tls = TlsStart::starttls;
    f.server("220 mx\r\n250 mx\r\n");
    EXPECT_TRUE(f.act.close);
    EXPECT_EQ(f.stats.errors["no_starttls"], 1u);
}

TEST(SmtpClient, AuthPlainAfterTls) {
    SmtpFixture f;
    f.options.tls = TlsStart::implicit;
    f.options.auth_user = "user@dst.test";
    f.options.auth_password = "secret";
    f.client.on_tls_started(0, f.act);
    EXPECT_EQ(f.act.out, "");
    f.server("220 mx\r\n250-mx\r\n250 AUTH PLAIN\r\n");
    // base64 of "\0user@dst.test\0secret"
    EXPECT_EQ(f.act.out, "EHLO loadgen.vaultmx-bench.invalid\r\nAUTH PLAIN AHVzZXJAZHN0LnRlc3QAc2VjcmV0\r\n");
    f.server("535 5.7.8 bad\r\n");
    EXPECT_TRUE(f.act.close);
    EXPECT_EQ(f.stats.errors["535"], 1u);
}

TEST(SmtpClient, HostileServerRepliesEndTheSessionAsProtocolErrors) {
    for (const std::string& bad : {std::string("hello\r\n"), std::string("22\r\n"), std::string("220-a\r\n250 b\r\n"),
                                   std::string(5000, 'x'), "220 mx\r\n" + [] {
                                       std::string many;  // a reply of more lines than any server sends
                                       for (int i = 0; i < 100; ++i) many += "250-x\r\n";
                                       return many;
                                   }()}) {
        SmtpFixture f;
        f.server(bad);
        if (!f.act.close) f.server("250 unexpected\r\n250 unexpected\r\n");
        EXPECT_TRUE(f.act.close) << bad.substr(0, 40);
        EXPECT_EQ(f.stats.messages, 0u);
    }
    SmtpFixture f;
    f.server("421 4.3.2 shutting down\r\n");
    EXPECT_TRUE(f.act.close);
    EXPECT_EQ(f.stats.errors["421"], 1u);
}

std::size_t samples(const LoadStats& stats, Step step) { return stats.latency_us[static_cast<std::size_t>(step)].size(); }
std::uint32_t only_sample_us(const LoadStats& stats, Step step) {
    const auto& v = stats.latency_us[static_cast<std::size_t>(step)];
    return v.size() == 1 ? v.front() : UINT32_MAX;
}

TEST(MailLoadSmtpTiming, EndOfDataRunsFromTheDotHandedToTheKernelToThe250) {
    SmtpFixture f;
    f.options.msgs_per_conn = 1;
    f.client.feed("220 mx\r\n250 mx\r\n", 1'000'000, f.act);
    f.client.feed("250 ok\r\n250 ok\r\n", 2'000'000, f.act);   // MAIL went at 1 ms
    f.act = {};
    f.client.feed("354 go\r\n", 3'000'000, f.act);
    ASSERT_EQ(f.act.out.substr(f.act.out.size() - 5), "\r\n.\r\n");
    f.client.on_sent(5'000'000);    // the kernel took the last bytes at 5 ms
    f.client.on_sent(6'000'000);    // later drains (QUIT) do not move it
    f.client.feed("250 queued\r\n", 12'000'000, f.act);
    EXPECT_EQ(only_sample_us(f.stats, Step::end_of_data), 7000u);
    EXPECT_EQ(only_sample_us(f.stats, Step::transaction), 11000u);
}

TEST(MailLoadSmtpTiming, EndOfDataWithoutADrainCountsFromTheDotQueued) {
    SmtpFixture f;
    f.options.msgs_per_conn = 2;
    f.client.feed("220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n", 1'000'000, f.act);
    f.client.feed("250 queued\r\n", 4'000'000, f.act);
    EXPECT_EQ(only_sample_us(f.stats, Step::end_of_data), 3000u);
    // A refused message records neither step.
    f.client.feed("250 ok\r\n250 ok\r\n354 go\r\n", 5'000'000, f.act);
    f.client.feed("554 5.7.1 rejected\r\n", 6'000'000, f.act);
    EXPECT_EQ(samples(f.stats, Step::end_of_data), 1u);
    EXPECT_EQ(samples(f.stats, Step::transaction), 1u);
}

TEST(MailLoadSmtpTiming, PacedTransactionsWaitForTheirTurnAndTakeTheBudgetThen) {
    SmtpFixture f;
    WorkBudget budget(2, 0);
    f.options.transactions_paced = true;
    f.options.msgs_per_conn = 5;
    SmtpThreadContext context{f.options, f.source, budget, f.stats, nullptr};
    SmtpClient client(context);
    ClientActions act;
    client.feed("220 mx\r\n250 mx\r\n", 0, act);
    EXPECT_EQ(act.out, "EHLO loadgen.vaultmx-bench.invalid\r\n");   // and no MAIL yet
    EXPECT_TRUE(act.wait_for_turn);
    for (int message = 0; message < 2; ++message) {
        act = {};
        client.on_turn(1000, act);
        EXPECT_EQ(act.out.rfind("MAIL FROM:", 0), 0u) << act.out;
        act = {};
        client.on_turn(1000, act);   // a second turn while the first runs is ignored
        EXPECT_EQ(act.out, "");
        client.feed("250 ok\r\n250 ok\r\n354 go\r\n", 2000, act);
        act = {};
        client.feed("250 queued\r\n", 3000, act);
        EXPECT_EQ(act.out, "");
        EXPECT_TRUE(act.wait_for_turn);
    }
    act = {};
    client.on_turn(4000, act);   // the budget of 2 is spent
    EXPECT_EQ(act.out, "QUIT\r\n");
    EXPECT_EQ(f.stats.messages, 2u);
}

TEST(SmtpClient, EmptyBudgetQuitsAfterTheFirstMessage) {
    SmtpFixture f;
    WorkBudget empty(1, 0);
    ASSERT_TRUE(empty.take(0));  // the session's first message, taken when it connected
    SmtpThreadContext context{f.options, f.source, empty, f.stats, nullptr};
    SmtpClient client(context);
    ClientActions act;
    client.feed("220 mx\r\n250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n250 queued\r\n", 0, act);
    EXPECT_EQ(act.out.substr(act.out.size() - 6), "QUIT\r\n");
    EXPECT_EQ(f.stats.messages, 1u);
}

// ------------------------------------------------------------------ POP3 client

TEST(MultiLineScanner, FindsTheTerminatorAcrossEverySplit) {
    const std::string response = "line one\r\n..stuffed\r\n.\r\n";  // the data after "+OK ...\r\n"
    const std::string after = "+OK next\r\n";
    for (std::size_t split = 0; split <= response.size(); ++split) {
        MultiLineScanner scanner;
        const std::string first = response.substr(0, split);
        const std::string second = response.substr(split) + after;
        std::size_t used = scanner.scan(first);
        EXPECT_EQ(used, first.size());
        if (!scanner.done()) used += scanner.scan(second);
        EXPECT_TRUE(scanner.done()) << split;
        EXPECT_EQ(used, response.size()) << split;
    }
    MultiLineScanner scanner;
    EXPECT_EQ(scanner.scan(".\r\n"), 3u);  // an empty list
    EXPECT_TRUE(scanner.done());
    scanner.reset();
    scanner.scan("a.\r\n. \r\n.x\r\n");
    EXPECT_FALSE(scanner.done());
}

struct Pop3Fixture {
    Pop3LoadOptions options;
    Pop3User user{"u@dst.test", "pw"};
    LoadStats stats;
    Pop3Client client{options, user, stats};
    ClientActions act;
    void server(const std::string& text, bool bytewise = false) { feed_server(client, act, text, bytewise); }
};

class Pop3ClientTest : public ::testing::TestWithParam<bool> {};

TEST_P(Pop3ClientTest, RetrievesEveryMessageThenQuits) {
    const bool bytewise = GetParam();
    Pop3Fixture f;
    f.options.dele = true;
    f.server("+OK POP3 ready\r\n", bytewise);
    EXPECT_EQ(f.act.out, "USER u@dst.test\r\n");
    f.server("+OK\r\n", bytewise);
    EXPECT_EQ(f.act.out, "PASS pw\r\n");
    f.server("+OK logged in\r\n", bytewise);
    EXPECT_EQ(f.act.out, "STAT\r\n");
    f.server("+OK 2 300\r\n", bytewise);
    EXPECT_EQ(f.act.out, "UIDL\r\n");
    f.server("+OK\r\n1 a\r\n2 b\r\n.\r\n", bytewise);
    EXPECT_EQ(f.act.out, "RETR 1\r\n");
    f.server("+OK 10 octets\r\nSubject: x\r\n\r\n..dot\r\n.\r\n", bytewise);
    EXPECT_EQ(f.act.out, "DELE 1\r\n");
    f.server("+OK\r\n", bytewise);
    EXPECT_EQ(f.act.out, "RETR 2\r\n");
    f.server("+OK\r\nbody\r\n.\r\n+OK deleted\r\n", bytewise);  // the DELE's reply in the same read
    EXPECT_EQ(f.act.out, "DELE 2\r\nQUIT\r\n");
    f.server("+OK bye\r\n", bytewise);
    EXPECT_TRUE(f.act.close);
    EXPECT_TRUE(f.client.finished());
    EXPECT_EQ(f.stats.messages, 2u);
    EXPECT_EQ(f.stats.transactions, 1u);
    EXPECT_EQ(f.stats.latency_us[static_cast<std::size_t>(Step::retr)].size(), 2u);
    EXPECT_EQ(f.stats.latency_us[static_cast<std::size_t>(Step::login)].size(), 1u);
    EXPECT_TRUE(f.stats.errors.empty());
}

INSTANTIATE_TEST_SUITE_P(BlockAndBytes, Pop3ClientTest, ::testing::Values(false, true));

TEST(Pop3Client, EmptyMaildropQuitsAfterStat) {
    Pop3Fixture f;
    f.server("+OK\r\n+OK\r\n+OK\r\n+OK 0 0\r\n");
    EXPECT_EQ(f.act.out.substr(f.act.out.size() - 6), "QUIT\r\n");
}

TEST(Pop3Client, RefusalsCountUnderTheirResponseCode) {
    Pop3Fixture f;
    f.server("+OK\r\n+OK\r\n-ERR [IN-USE] maildrop locked\r\n");
    EXPECT_EQ(f.act.out.substr(f.act.out.size() - 6), "QUIT\r\n");
    f.server("+OK bye\r\n");
    EXPECT_EQ(f.stats.errors["-ERR [IN-USE]"], 1u);
    EXPECT_EQ(f.stats.transactions, 0u);  // a refused session is not a completed one
    Pop3Fixture g;
    g.server("+OK\r\n-ERR no\r\n");
    EXPECT_EQ(g.stats.errors["-ERR"], 1u);
    Pop3Fixture h;
    h.server("* garbage\r\n");
    EXPECT_TRUE(h.act.close);
    EXPECT_EQ(h.stats.errors["protocol"], 1u);
}

// ------------------------------------------------------------------ the --rate schedule

TEST(MailLoadPace, StartsFallDueOnTheirTimesWithoutDrift) {
    PaceSchedule s(1'000, 1e9 / 3);   // 3 a second: intervals of 333,333,333.3 ns
    EXPECT_TRUE(s.due(1'000));
    EXPECT_FALSE(s.due(999));
    EXPECT_FALSE(s.take(0));
    EXPECT_EQ(s.next_due_ns(), 1'000 + 333'333'333);
    EXPECT_FALSE(s.due(1'000 + 333'333'332));
    EXPECT_TRUE(s.due(1'000 + 333'333'333));
    for (int i = 1; i < 3'000'000; ++i) s.take(0);
    EXPECT_EQ(s.next_due_ns(), 1'000 + 1'000'000'000'000'000LL);   // a million seconds on: not a ns off
    EXPECT_EQ(s.taken(), 3'000'000u);
    EXPECT_EQ(s.late(), 0u);
}

TEST(MailLoadPace, AStartIsLateOnlyWhenNoSlotWasFreeAtItsTime) {
    PaceSchedule s(0, 10'000'000);   // every 10 ms
    // t = 0: a slot free since before the start: on time even if the loop gets to it later.
    EXPECT_FALSE(s.take(-5));
    // Start 1 (10 ms): the only slot came free at 25 ms: late.
    EXPECT_FALSE(s.due(9'999'999));
    EXPECT_TRUE(s.take(25'000'000));
    // Start 2 (20 ms) is due too by then; the next slot came free at 18 ms: on time.
    EXPECT_TRUE(s.due(25'000'000));
    EXPECT_FALSE(s.take(18'000'000));
    // Start 3 (30 ms): a slot free at exactly its time is on time; at 30 ms + 1 ns it is late.
    EXPECT_FALSE(s.take(30'000'000));
    EXPECT_TRUE(s.take(40'000'001));
    EXPECT_EQ(s.taken(), 5u);
    EXPECT_EQ(s.late(), 2u);
    // A backlog is not dropped: what fell behind is still due, oldest first.
    EXPECT_TRUE(s.due(60'000'000));
    EXPECT_EQ(s.next_due_ns(), 50'000'000);
}

TEST(MailLoadPace, ThreadsInterleaveToOneEvenRate) {
    // 200 a second over 4 threads: each thread 50/s, together one start every 5 ms.
    std::vector<std::int64_t> all;
    for (std::uint32_t t = 0; t < 4; ++t) {
        PaceSchedule s = PaceSchedule::for_thread(7'000, 200, 4, t);
        for (int k = 0; k < 50; ++k) {
            all.push_back(s.next_due_ns());
            s.take(0);
        }
    }
    std::sort(all.begin(), all.end());
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], 7'000 + static_cast<std::int64_t>(i) * 5'000'000) << i;
    // A decimal rate: 0.5 a second on one thread is one start every 2 s.
    const PaceSchedule slow = PaceSchedule::for_thread(0, 0.5, 1, 0);
    EXPECT_EQ(slow.due_ns(3), 6'000'000'000);
}

TEST(MailLoadBudget, OpenUntilCountDeadlineOrStop) {
    WorkBudget count(2, 0);
    EXPECT_TRUE(count.open(0));
    EXPECT_TRUE(count.take(0));
    EXPECT_TRUE(count.take(0));
    EXPECT_FALSE(count.open(0));
    WorkBudget timed(0, 1'000);
    EXPECT_TRUE(timed.open(999));
    EXPECT_FALSE(timed.open(1'000));
    WorkBudget stopped(0, 0);
    stopped.stop();
    EXPECT_FALSE(stopped.open(0));
}

// ------------------------------------------------------------------ summaries

TEST(LatencySummary, NearestRankPercentiles) {
    std::vector<std::uint32_t> samples;
    for (std::uint32_t i = 1000; i >= 1; --i) samples.push_back(i * 1000);  // 1..1000 ms, reversed
    const LatencySummary s = summarize(samples);
    EXPECT_EQ(s.count, 1000u);
    EXPECT_DOUBLE_EQ(s.p50_ms, 500.0);
    EXPECT_DOUBLE_EQ(s.p90_ms, 900.0);
    EXPECT_DOUBLE_EQ(s.p99_ms, 990.0);
    EXPECT_DOUBLE_EQ(s.p999_ms, 999.0);
    EXPECT_DOUBLE_EQ(s.max_ms, 1000.0);
    std::vector<std::uint32_t> none;
    EXPECT_EQ(summarize(none).count, 0u);
}

TEST(LatencySummary, MergeAddsCountsErrorsAndSamples) {
    LoadStats a, b;
    a.messages = 2;
    a.error("550");
    a.record(Step::connect, 2'000'000);
    b.messages = 3;
    b.error("550");
    b.error("timeout");
    b.record(Step::connect, 1'000'000);
    a.merge(std::move(b));
    EXPECT_EQ(a.messages, 5u);
    EXPECT_EQ(a.errors["550"], 2u);
    EXPECT_EQ(a.errors_total(), 3u);
    EXPECT_EQ(a.latency_us[static_cast<std::size_t>(Step::connect)].size(), 2u);
}

}  // namespace
}  // namespace vmx::bench
