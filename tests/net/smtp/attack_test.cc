// The known attacks on an SMTP server, each a transcript played in one block and byte by byte:
// SMTP smuggling, STARTTLS command injection, STARTTLS twice, commands before EHLO, NUL bytes,
// overlong lines, pipelined floods, web proxies talking to port 25.
#include <gtest/gtest.h>

#include "tests/net/smtp/transcript.h"

namespace vmx::smtp::test {
namespace {

const std::string open_txn = "EHLO c.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n";
const std::string open_txn_replies =
    ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";

// A message whose body hides a second transaction behind a non-standard end of data. Only the
// real <CRLF>.<CRLF> ends it; the whole message is refused and the hidden one never runs.
void expect_smuggling_refused(const std::string& fake_end) {
    SCOPED_TRACE(testing::PrintToString(fake_end));
    const std::string hidden = "MAIL FROM:<spoof@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
                               "From: ceo@example.org\r\n\r\nwire the money\r\n";
    const Outcome o = expect_transcript({
        S(greeting), raw(open_txn), S(open_txn_replies),
        raw("Subject: innocent\r\n\r\nhello" + fake_end + hidden + ".\r\n"),
        S("550 5.5.2 Error: bare <CR> or <LF> in message data\n"),
        C("NOOP\n"), S("250 2.0.0 Ok\n"),
    });
    EXPECT_TRUE(o.messages.empty());
    EXPECT_EQ(o.policy_calls.size(), 1u);  // only b@example.org: the hidden RCPT was never a command
}

TEST(SmtpAttack, SmugglingWithBareLineEnds) {
    expect_smuggling_refused("\n.\n");       // LF.LF
    expect_smuggling_refused("\r.\r");       // CR.CR
    expect_smuggling_refused("\n.\r\n");     // LF.CRLF
    expect_smuggling_refused("\r\n.\n");     // CRLF.LF
    expect_smuggling_refused("\r.\r\n");     // CR.CRLF
    expect_smuggling_refused("\r\n.\r");     // CRLF.CR
    expect_smuggling_refused("\n");          // a lone bare LF
}

TEST(SmtpAttack, BareLineEndsInChunks) {
    const Outcome ok = expect_transcript({
        S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        raw("BDAT 3\r\nab\r"), S("250 2.0.0 Ok: 3 bytes\n"),  // a CRLF split across chunks is fine
        raw("BDAT 3 LAST\r\n\nxy"), S(""), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(ok.messages.size(), 1u);
    EXPECT_EQ(ok.messages[0].body, "ab\r\nxy");
    expect_transcript({
        S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        raw("BDAT 3\r\nab\r"), S("250 2.0.0 Ok: 3 bytes\n"),       // CR at a chunk border ...
        raw("BDAT 3 LAST\r\nx\ny"), S("550 5.5.2 Error: bare <CR> or <LF> in message data\n"),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nBDAT 3 LAST\nab\r"),  // ... or at the end
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n550 5.5.2 Error: bare <CR> or <LF> in message data\n"),
    });
}

TEST(SmtpAttack, StartTlsInjectionIsDropped) {
    // A man in the middle appends a command to the client's STARTTLS; it must not run after TLS.
    const Outcome o = expect_transcript({
        S(greeting), C("EHLO c.example\n"), S(ehlo_reply),
        C("STARTTLS\nRSET\nMAIL FROM:<evil@example.com>\n"), S("220 2.0.0 Ready to start TLS\n"),
        tls(), S(""),
        C("MAIL FROM:<a@example.com>\n"), S("503 5.5.1 Error: send HELO/EHLO first\n"),
    });
    EXPECT_EQ(o.dropped_after_starttls, std::string("RSET\r\nMAIL FROM:<evil@example.com>\r\n").size());
}

TEST(SmtpAttack, NothingIsReadBetweenStartTlsAndTheHandshake) {
    const Limits limits = test_limits();
    const Options options = test_options();
    FakePolicy policy;
    Session s(limits, options, policy);
    Effects fx;
    s.feed("EHLO c.example\r\nSTARTTLS\r\n", fx);
    ASSERT_TRUE(fx.start_tls);
    fx = Effects{};
    EXPECT_EQ(s.feed("NOOP\r\n", fx), 6u);  // swallowed without a reply
    EXPECT_EQ(fx.replies, "");
    s.on_stored(StoreOutcome::stored, fx);  // stray events change nothing
    EXPECT_EQ(fx.replies, "");
    s.on_tls_started(fx);
    EXPECT_TRUE(s.tls_active());
    s.on_tls_started(fx);  // a second report is ignored
    EXPECT_EQ(s.feed("NOOP\r\n", fx), 6u);
    EXPECT_EQ(fx.replies, "250 2.0.0 Ok\r\n");
}

TEST(SmtpAttack, StartTlsTwice) {
    expect_transcript({
        S(greeting), C("EHLO c.example\nSTARTTLS\n"), S(ehlo_reply + "220 2.0.0 Ready to start TLS\r\n"), tls(),
        C("STARTTLS\nEHLO c.example\nSTARTTLS\n"),
        S("503 5.5.1 Error: send HELO/EHLO first\n" + ehlo_reply_tls + "554 5.5.1 Error: TLS already active\r\n"),
    });
}

TEST(SmtpAttack, NulAndBareCrInCommands) {
    expect_transcript({
        S(greeting), raw(std::string("EHLO c.exa\0mple\r\nNO\0OP\r\n", 24)),
        S("500 5.5.2 Error: NUL character in command\n500 5.5.2 Error: NUL character in command\n"),
        raw("NOOP\rRSET\r\nEHLO c.example\r\n"), S("500 5.5.2 Error: bare <CR> in command\n" + ehlo_reply),
    });
}

TEST(SmtpAttack, OverlongCommandLineIsSkippedUnbuffered) {
    const Outcome o = expect_transcript({
        S(greeting), raw("NOOP " + std::string(5000, 'A')), S("500 5.5.2 Error: line too long\n"),
        raw(std::string(3000, 'B') + "\r\nNOOP\r\n"), S("250 2.0.0 Ok\n"),
    });
    // Block mode holds what one step brings; the engine never makes the caller keep more than a line.
    EXPECT_LE(o.held_bytes_max, 5005u);
    const Limits limits = test_limits();
    const Options options = test_options();
    FakePolicy policy;
    Session s(limits, options, policy);
    Effects fx;
    EXPECT_EQ(s.feed(std::string(999, 'x'), fx), 0u);      // may still become a valid line
    EXPECT_EQ(s.feed(std::string(1000, 'x'), fx), 1000u);  // cannot: consumed, answered, skipped
    EXPECT_EQ(s.feed(std::string(4096, 'x'), fx), 4096u);
    EXPECT_EQ(fx.replies, "500 5.5.2 Error: line too long\r\n");
}

TEST(SmtpAttack, PipelinedRecipientFloodIsBounded) {
    std::string flood = "EHLO c.example\r\nMAIL FROM:<a@example.com>\r\n";
    for (int i = 0; i < 10000; ++i) flood += "RCPT TO:<user" + std::to_string(i) + "@example.org>\r\n";
    flood += "DATA\r\n";
    std::string expected = ehlo_reply + "250 2.1.0 Ok\r\n";
    for (int i = 0; i < 5; ++i) expected += "250 2.1.5 Ok\r\n";
    // recipients_max (5) overshoots are tolerated, then errors_max (10) more end the session.
    for (int i = 0; i < 15; ++i) expected += "452 4.5.3 Error: too many recipients\r\n";
    expected += "421 4.7.0 mx.example.net Error: too many errors\r\n";
    Player player(test_limits(), test_options());
    const Outcome o = player.play({S(greeting), raw(flood), S(expected)}, FeedMode::block);
    EXPECT_TRUE(o.closed);
    EXPECT_EQ(o.policy_calls.size(), 5u);
}

TEST(SmtpAttack, ReplyBacklogPausesFeeding) {
    // A flood of NOOPs gets its replies in bounded batches: the caller sends, then feeds again.
    Limits limits = test_limits();
    limits.reply_bytes_max = 1024;
    const Options options = test_options();
    FakePolicy policy;
    Session s(limits, options, policy);
    std::string flood;
    for (int i = 0; i < 10000; ++i) flood += "NOOP\r\n";
    Effects fx;
    const std::size_t used = s.feed(flood, fx);
    EXPECT_LT(used, flood.size());
    EXPECT_LE(fx.replies.size(), 1024u + 64u);
    std::size_t total = used;
    while (total < flood.size()) {
        fx.replies.clear();
        const std::size_t n = s.feed(std::string_view(flood).substr(total), fx);
        ASSERT_GT(n, 0u);
        total += n;
    }
}

TEST(SmtpAttack, WebProxyTrafficIsHungUpOn) {
    const Outcome o = expect_transcript({
        S(greeting), C("POST / HTTP/1.1\nHost: mx.example.net\n"),
        S("221 2.7.0 Error: this is an SMTP server. Goodbye\n"),
    });
    EXPECT_TRUE(o.closed);
}

TEST(SmtpAttack, DotStuffingIsNotAnEnd) {
    const Outcome o = expect_transcript({
        S(greeting), raw(open_txn), S(open_txn_replies),
        C("..\n.x\n. \n.\n"), S(""), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].body, ".\r\nx\r\n \r\n");
}

}  // namespace
}  // namespace vmx::smtp::test
