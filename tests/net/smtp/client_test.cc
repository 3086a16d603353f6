// SMTP client engine transcripts: delivery, per-recipient outcomes, connection reuse, STARTTLS,
// pipelining, refusals before sending, limits and malformed replies, each played in one block and
// one byte at a time (client_transcript.h).
#include <gtest/gtest.h>

#include "tests/net/smtp/client_transcript.h"

namespace vmx::smtp::client_test {
namespace {

const std::string greeting = "220 mx.example.com ESMTP\n";
const std::string ehlo = "EHLO out.example.org\n";
// Without and with PIPELINING; neither offers STARTTLS.
const std::string ehlo_plain = "250-mx.example.com\n250-SIZE 1000\n250-8BITMIME\n250 ENHANCEDSTATUSCODES\n";
const std::string ehlo_pipelining = "250-mx.example.com\n250-PIPELINING\n250-SIZE 1000\n250-8BITMIME\n250 SMTPUTF8\n";
const std::string ehlo_starttls = "250-mx.example.com\n250-PIPELINING\n250 STARTTLS\n";
const std::string body = "Subject: hi\r\n\r\nhello\r\n";
const std::string mail = "MAIL FROM:<alice@example.org> SIZE=22\n";

TestMessage to(std::vector<std::string> recipients) {
    TestMessage m;
    m.recipients = std::move(recipients);
    return m;
}

TEST(SmtpClient, DeliversOneMessageWithoutPipelining) {
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo),
        S(ehlo_plain), C(""),
        send(), C(mail),
        S("250 2.1.0 Ok\n"), C("RCPT TO:<bob@example.com>\n"),
        S("250 2.1.5 Ok\n"), C("DATA\n"),
        S("354 go ahead\n"), C(body + ".\n"),
        S("250 2.0.0 Ok: queued as X1\n"), C(""),
        quit(), C("QUIT\n"),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0], "accepted: 250 2.0.0 Ok: queued as X1 | 0 accepted 250 2.0.0 Ok: queued as X1");
    EXPECT_TRUE(p.failed.empty());
    EXPECT_TRUE(p.closed);
}

TEST(SmtpClient, PipelinedGroupWithMixedRecipientOutcomes) {
    TestMessage m = to({"a@example.com", "b@example.com", "c@example.com"});
    m.eight_bit = true;
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo),
        S(ehlo_pipelining), C(""),
        send(m),
        C("MAIL FROM:<alice@example.org> BODY=8BITMIME SIZE=22\nRCPT TO:<a@example.com>\nRCPT TO:<b@example.com>\n"
          "RCPT TO:<c@example.com>\nDATA\n"),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n550 5.1.1 no such user\n"), C(""),
        S("451 4.3.0 try later\n354 go ahead\n"), C(body + ".\n"),
        S("250 2.0.0 queued\n"), C(""),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0],
              "accepted: 250 2.0.0 queued | 0 accepted 250 2.0.0 queued | 1 perm 550 5.1.1 no such user"
              " | 2 temp 451 4.3.0 try later");
    EXPECT_FALSE(p.closed);
    EXPECT_TRUE(p.ready);
}

TEST(SmtpClient, AllRecipientsRefusedMeansNoDataAndRsetBeforeTheNextMessage) {
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain),
        send(to({"a@example.com", "b@example.com"})), C(mail),
        S("250 2.1.0 Ok\n"), C("RCPT TO:<a@example.com>\n"),
        S("550 5.1.1 no a\n"), C("RCPT TO:<b@example.com>\n"),
        S("450 4.2.1 b is busy\n"), C(""),  // not DATA
        send(), C("RSET\n"),
        S("250 2.0.0 Ok\n"), C(mail),
        S("250 Ok\n"), C("RCPT TO:<bob@example.com>\n"),
        S("250 Ok\n"), C("DATA\n"),
        S("354 go\n"), C(body + ".\n"),
        S("250 Ok\n"),
    });
    ASSERT_EQ(p.done.size(), 2u);
    EXPECT_EQ(p.done[0], "temp: 450 4.2.1 b is busy | 0 perm 550 5.1.1 no a | 1 temp 450 4.2.1 b is busy");
    EXPECT_EQ(p.done[1], "accepted: 250 Ok | 0 accepted 250 Ok");
}

TEST(SmtpClient, PipelinedAllRecipientsRefusedReadsTheWholeGroup) {
    // DATA went out in the group; its 554 is read, and the next group starts with RSET.
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(to({"a@example.com", "b@example.com"})),
        C("MAIL FROM:<alice@example.org> SIZE=22\nRCPT TO:<a@example.com>\nRCPT TO:<b@example.com>\nDATA\n"),
        S("250 Ok\n550 5.1.1 no a\n550 5.1.1 no b\n"), C(""),
        S("554 5.5.1 no valid recipients\n"), C(""),
        send(), C("RSET\n" + mail + "RCPT TO:<bob@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        S("250 Ok\n"),
    });
    ASSERT_EQ(p.done.size(), 2u);
    EXPECT_EQ(p.done[0], "perm: 550 5.1.1 no b | 0 perm 550 5.1.1 no a | 1 perm 550 5.1.1 no b");
    EXPECT_EQ(p.done[1], "accepted: 250 Ok | 0 accepted 250 Ok");
}

TEST(SmtpClient, PipelinedGroupAnswered354WithNoRecipientSendsALoneDot) {
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(), C(mail + "RCPT TO:<bob@example.com>\nDATA\n"),
        S("250 Ok\n550 5.1.1 no bob\n354 go\n"), C(".\n"),
        S("554 5.5.1 no valid recipients\n"), C(""),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0], "perm: 550 5.1.1 no bob | 0 perm 550 5.1.1 no bob");
}

TEST(SmtpClient, MailRefusedDecidesForEveryRecipient) {
    const Played piped = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(to({"a@example.com", "b@example.com"})),
        C("MAIL FROM:<alice@example.org> SIZE=22\nRCPT TO:<a@example.com>\nRCPT TO:<b@example.com>\nDATA\n"),
        S("553 5.7.1 sender refused\n503 5.5.1 need MAIL\n503 5.5.1 need MAIL\n503 5.5.1 need MAIL\n"), C(""),
    });
    ASSERT_EQ(piped.done.size(), 1u);
    EXPECT_EQ(piped.done[0], "perm: 553 5.7.1 sender refused | 0 perm 553 5.7.1 sender refused | 1 perm 553 5.7.1 sender refused");
    const Played lockstep = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain),
        send(to({"a@example.com", "b@example.com"})), C(mail),
        S("451 4.7.1 greylisted\n"), C(""),
    });
    ASSERT_EQ(lockstep.done.size(), 1u);
    EXPECT_EQ(lockstep.done[0], "temp: 451 4.7.1 greylisted | 0 temp 451 4.7.1 greylisted | 1 temp 451 4.7.1 greylisted");
}

TEST(SmtpClient, TemporaryFailureThenReuseForTheNextMessage) {
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(), C(mail + "RCPT TO:<bob@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        S("451 4.3.0 queue write error\n"), C(""),
        send(to({"carol@example.com"})), C("RSET\n" + mail + "RCPT TO:<carol@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        S("250 2.0.0 queued\n"), C(""),
        send(to({"dan@example.com"})), C(mail + "RCPT TO:<dan@example.com>\nDATA\n"),  // no RSET after a success
        S("250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        S("250 2.0.0 queued\n"),
        quit(), C("QUIT\n"),
    });
    ASSERT_EQ(p.done.size(), 3u);
    EXPECT_EQ(p.done[0], "temp: 451 4.3.0 queue write error | 0 temp 451 4.3.0 queue write error");
    EXPECT_EQ(p.done[1], "accepted: 250 2.0.0 queued | 0 accepted 250 2.0.0 queued");
    EXPECT_EQ(p.done[2], "accepted: 250 2.0.0 queued | 0 accepted 250 2.0.0 queued");
}

TEST(SmtpClient, DataRefusedAppliesToAcceptedRecipientsOnly) {
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain),
        send(to({"a@example.com", "b@example.com"})), C(mail),
        S("250 Ok\n"), C("RCPT TO:<a@example.com>\n"),
        S("550 5.1.1 no a\n"), C("RCPT TO:<b@example.com>\n"),
        S("250 Ok\n"), C("DATA\n"),
        S("452 4.3.1 no room\n"), C(""),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0], "temp: 452 4.3.1 no room | 0 perm 550 5.1.1 no a | 1 temp 452 4.3.1 no room");
}

TEST(SmtpClient, Reply421MidwayFailsTheSession) {
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(to({"a@example.com", "b@example.com"})),
        C("MAIL FROM:<alice@example.org> SIZE=22\nRCPT TO:<a@example.com>\nRCPT TO:<b@example.com>\nDATA\n"),
        S("250 Ok\n550 5.1.1 no a\n421 4.3.2 shutting down\n250 late\n"), C(""),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0], "temp: 421 4.3.2 shutting down | 0 perm 550 5.1.1 no a | 1 temp 421 4.3.2 shutting down");
    EXPECT_EQ(p.failed, std::vector<std::string>{"421 4.3.2 shutting down"});
    EXPECT_TRUE(p.closed);
    EXPECT_FALSE(p.ready);
}

TEST(SmtpClient, GreetingRefusedOr421) {
    const Played refused = expect_client_transcript({S("554 5.7.1 go away\n"), C("QUIT\n")});
    EXPECT_EQ(refused.failed, std::vector<std::string>{"554 5.7.1 go away"});
    EXPECT_TRUE(refused.closed);
    const Played busy = expect_client_transcript({S("421 4.7.0 too busy\n"), C("")});
    EXPECT_EQ(busy.failed, std::vector<std::string>{"421 4.7.0 too busy"});
    const Played ehlo_temp = expect_client_transcript({S(greeting), C(ehlo), S("451 4.3.0 later\n"), C("QUIT\n")});
    EXPECT_EQ(ehlo_temp.failed, std::vector<std::string>{"451 4.3.0 later"});
}

TEST(SmtpClient, MultilineRepliesAreJoined) {
    const Played p = expect_client_transcript({
        S("220-mx.example.com ESMTP\n220-no UCE\n220 welcome\n"), C(ehlo),
        S(ehlo_plain), send(), C(mail),
        S("250 Ok\n"), C("RCPT TO:<bob@example.com>\n"),
        S("550-5.1.1 The email account that you tried to reach does not exist.\n550-5.1.1 Please check\n550 5.1.1 the address\n"),
        C(""),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0],
              "perm: 550 5.1.1 The email account that you tried to reach does not exist. 5.1.1 Please check 5.1.1 the address"
              " | 0 perm 550 5.1.1 The email account that you tried to reach does not exist. 5.1.1 Please check 5.1.1 the address");
}

TEST(SmtpClient, ReplyTextHasControlBytesReplaced) {
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain), send(), C(mail),
        raw("550 bad\x1b[31m\x7f\rx\r\n"), C(""),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0], "perm: 550 bad?[31m??x | 0 perm 550 bad?[31m??x");
    const Played latin1 = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain), send(), C(mail),
        raw("550 caf\xe9 \xc3\xa9\r\n"), C(""),
    });
    ASSERT_EQ(latin1.done.size(), 1u);
    EXPECT_EQ(latin1.done[0], "perm: 550 caf? ?? | 0 perm 550 caf? ??");
    const Played utf8 = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain), send(), C(mail),
        raw("550 caf\xc3\xa9\n"), C(""),
    });
    ASSERT_EQ(utf8.done.size(), 1u);
    EXPECT_EQ(utf8.done[0], "perm: 550 caf\xc3\xa9 | 0 perm 550 caf\xc3\xa9");
}

TEST(SmtpClient, FeedLeavesAPartialLineToTheCaller) {
    const ClientLimits limits = test_limits();
    Client c(limits, options());
    ClientEffects fx;
    EXPECT_EQ(c.feed("220 mx", fx), 0u);
    EXPECT_EQ(fx.commands, "");
    EXPECT_EQ(c.feed("220 mx\r\n250-mx", fx), 8u);
    EXPECT_EQ(fx.commands, "EHLO out.example.org\r\n");
    EXPECT_EQ(c.feed("250-mx\r\n250 PIPE", fx), 8u);
    EXPECT_EQ(c.feed("250 PIPELINING\r\n", fx), 16u);
    EXPECT_TRUE(c.ready());
    EXPECT_TRUE(c.extensions().pipelining);
}

TEST(SmtpClient, OverlongReplyLineFailsTheSession) {
    const std::string line = "250 " + std::string(507, 'x') + "\r\n";  // 513 bytes: one over
    const Played p = expect_client_transcript({S(greeting), C(ehlo), raw(line), C("")});
    EXPECT_EQ(p.failed, std::vector<std::string>{"421 4.5.0 protocol error: reply line too long (local)"});
    EXPECT_TRUE(p.closed);
    const std::string fits = "250 " + std::string(506, 'x') + "\r\n";
    const Played q = expect_client_transcript({S(greeting), C(ehlo), raw(fits), C("")});
    EXPECT_TRUE(q.failed.empty());
    EXPECT_TRUE(q.ready);
}

TEST(SmtpClient, EndlessMultilineReplyFailsTheSession) {
    std::string endless;
    for (int i = 0; i < 11; ++i) endless += "250-line\r\n";  // the 11th line passes reply_lines_max
    const Played p = expect_client_transcript({S(greeting), C(ehlo), raw(endless), C("")});
    EXPECT_EQ(p.failed, std::vector<std::string>{"421 4.5.0 protocol error: too many reply lines (local)"});
    std::string ten;
    for (int i = 0; i < 9; ++i) ten += "250-line\r\n";
    ten += "250 last\r\n";
    const Played q = expect_client_transcript({S(greeting), C(ehlo), raw(ten), C("")});
    EXPECT_TRUE(q.ready);
}

TEST(SmtpClient, MalformedRepliesFailTheSession) {
    const std::string error = "421 4.5.0 protocol error: malformed reply (local)";
    for (const char* bad : {"hello\n", "25\n", "2500 x\n", "250x\n", "25O Ok\n", "650 Ok\n", "150 Ok\n", "\n"}) {
        const Played p = expect_client_transcript({S(greeting), C(ehlo), S(bad), C("")});
        EXPECT_EQ(p.failed, std::vector<std::string>{error}) << bad;
        EXPECT_TRUE(p.closed) << bad;
    }
    const Played mixed = expect_client_transcript({S(greeting), C(ehlo), S("250-mx\n251 x\n"), C("")});
    EXPECT_EQ(mixed.failed, std::vector<std::string>{"421 4.5.0 protocol error: inconsistent codes in a multiline reply (local)"});
    const Played bare = expect_client_transcript({S("220 mx"), raw("\n"), C(ehlo), raw("250 mx\n"), C("")});
    EXPECT_TRUE(bare.ready);  // LF alone ends a reply line: lenient
}

TEST(SmtpClient, ReplyWhenNoneIsExpectedFailsTheSession) {
    const Played p = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_plain + "250 extra\n"), C("")});
    EXPECT_EQ(p.failed, std::vector<std::string>{"421 4.5.0 protocol error: reply when none was expected (local)"});
    const Played q = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(), C(mail + "RCPT TO:<bob@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        S("250 Ok\n250 extra\n"), C(""),
    });
    EXPECT_EQ(q.done, std::vector<std::string>{"accepted: 250 Ok | 0 accepted 250 Ok"});
    EXPECT_EQ(q.failed, std::vector<std::string>{"421 4.5.0 protocol error: reply when none was expected (local)"});
}

TEST(SmtpClient, StartTlsDropsWhatTheServerInjectedBeforeTheHandshake) {
    // CVE-2021-38371: "250 ..." after the 220 in the same packet must never be read as a reply.
    const std::string injected = "250-injected\r\n250 PIPELINING\r\n";
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo),
        S(ehlo_starttls), C("STARTTLS\n"),
        raw("220 2.0.0 Ready\r\n" + injected), C(""),
        raw("250 more\r\n"), C(""),  // still before the handshake: dropped
        tls(), C(ehlo),
        S("250-mx.example.com\n250 SIZE 500\n"), C(""),
        send(), C(mail),
        S("250 Ok\n"), C("RCPT TO:<bob@example.com>\n"),
    }, options(TlsPolicy::encrypt));
    EXPECT_EQ(p.dropped_after_starttls, injected.size());  // the later bytes are consumed unread
    EXPECT_TRUE(p.failed.empty());
}

TEST(SmtpClient, StartTlsForgetsPlaintextExtensions) {
    const ClientLimits limits = test_limits();
    Client c(limits, options());
    ClientEffects fx;
    const std::string plain = "220 mx\r\n250-mx\r\n250-PIPELINING\r\n250-SIZE 100\r\n250 STARTTLS\r\n220 go\r\n250 x\r\n";
    const std::size_t used = c.feed(plain, fx);
    EXPECT_EQ(used, plain.size() - 7);
    EXPECT_TRUE(fx.start_tls);
    EXPECT_EQ(fx.commands, "EHLO out.example.org\r\nSTARTTLS\r\n");
    fx = {};
    EXPECT_EQ(c.feed("250 x\r\n", fx), 7u);  // consumed unread
    EXPECT_EQ(fx.commands, "");
    EXPECT_FALSE(c.ready());
    c.on_tls_started(fx);
    EXPECT_TRUE(c.tls_active());
    EXPECT_FALSE(c.extensions().pipelining);
    EXPECT_EQ(fx.commands, "EHLO out.example.org\r\n");
    fx = {};
    c.feed("250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN login\r\n", fx);
    EXPECT_EQ(fx.commands, "");  // no second STARTTLS
    EXPECT_TRUE(c.ready());
    EXPECT_TRUE(c.extensions().offers_auth("LOGIN"));
    EXPECT_EQ(c.extensions().auth_mechanisms, "PLAIN LOGIN");
}

TEST(SmtpClient, StartTlsRequiredButNotOffered) {
    for (TlsPolicy policy : {TlsPolicy::encrypt, TlsPolicy::verify}) {
        const Played p = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_plain), C("QUIT\n")}, options(policy));
        EXPECT_EQ(p.failed, std::vector<std::string>{"421 4.7.4 TLS is required, but the server did not offer STARTTLS (local)"});
        EXPECT_TRUE(p.closed);
    }
    ClientOptions retried = options(TlsPolicy::encrypt);
    retried.tls_possible = false;
    const Played q = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_starttls), C("QUIT\n")}, retried);
    EXPECT_EQ(q.failed, std::vector<std::string>{"421 4.7.5 TLS is required, but the handshake with the server failed (local)"});
}

TEST(SmtpClient, StartTlsRefused) {
    const Played may = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_starttls), C("STARTTLS\n"),
        S("454 4.7.0 TLS not available\n"), C(""),
        send(), C(mail.substr(0, mail.find(" SIZE")) + "\nRCPT TO:<bob@example.com>\nDATA\n"),
    });
    EXPECT_TRUE(may.failed.empty());
    const Played encrypt = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_starttls), C("STARTTLS\n"),
        S("454 4.7.0 TLS not available\n"), C("QUIT\n"),
    }, options(TlsPolicy::encrypt));
    EXPECT_EQ(encrypt.failed,
              std::vector<std::string>{"421 4.7.4 TLS is required, but STARTTLS was refused: 454 4.7.0 TLS not available (local)"});
}

TEST(SmtpClient, TlsPolicyNoneOrImpossibleStaysPlain) {
    ClientOptions impossible = options(TlsPolicy::may);
    impossible.tls_possible = false;
    for (const ClientOptions& o : {options(TlsPolicy::none), impossible}) {
        const Played p = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_starttls), C("")}, o);
        EXPECT_TRUE(p.ready);
    }
}

TEST(SmtpClient, HeloFallbackHasNoExtensions) {
    TestMessage m;
    m.eight_bit = true;
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo),
        S("502 5.5.2 command not recognized\n"), C("HELO out.example.org\n"),
        S("250 mx.example.com\n"), C(""),
        send(m), C("MAIL FROM:<alice@example.org>\n"),
        S("250 Ok\n"), C("RCPT TO:<bob@example.com>\n"),
    });
    EXPECT_TRUE(p.failed.empty());
    const Played refused = expect_client_transcript({
        S(greeting), C(ehlo), S("500 what\n"), C("HELO out.example.org\n"), S("501 no\n"), C("QUIT\n"),
    });
    EXPECT_EQ(refused.failed, std::vector<std::string>{"501 no"});
}

TEST(SmtpClient, SizeAndSmtpUtf8RefusedBeforeSending) {
    TestMessage big;
    big.body = std::string(40, 'x') + "\r\n";
    for (int i = 0; i < 24; ++i) big.body += big.body.substr(0, 42);  // 1050 bytes > SIZE 1000
    TestMessage utf8;
    utf8.smtputf8 = true;
    utf8.recipients = {"b\xc3\xbc" "cher@example.com"};
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain),
        send(big), C(""),
        send(utf8), C(""),
        send(), C(mail),  // nothing was sent: no RSET
    });
    ASSERT_EQ(p.done.size(), 2u);
    EXPECT_EQ(p.done[0], "perm: 552 5.3.4 message size 1050 exceeds the server's limit of 1000 (local)"
                         " | 0 perm 552 5.3.4 message size 1050 exceeds the server's limit of 1000 (local)");
    EXPECT_EQ(p.done[1], "perm: 553 5.6.7 the message needs SMTPUTF8, which the server does not offer (local)"
                         " | 0 perm 553 5.6.7 the message needs SMTPUTF8, which the server does not offer (local)");
    const Played offered = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(utf8), C("MAIL FROM:<alice@example.org> SMTPUTF8 SIZE=22\nRCPT TO:<b\xc3\xbc" "cher@example.com>\nDATA\n"),
    });
    EXPECT_TRUE(offered.done.empty());
}

TEST(SmtpClient, DotStuffingAndTheFinalCrlf) {
    TestMessage m;
    m.body = ".\r\n..two\r\nmid.dle\r\n.lead\r\nlast line without CRLF";
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(m), C("MAIL FROM:<alice@example.org> SIZE=50\nRCPT TO:<bob@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n354 go\n"), C("..\n...two\nmid.dle\n..lead\nlast line without CRLF\n.\n"),
        S("250 Ok\n"),
    });
    ASSERT_EQ(p.done.size(), 1u);
    TestMessage empty;
    empty.body = "";
    expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(empty), C("MAIL FROM:<alice@example.org> SIZE=0\nRCPT TO:<bob@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n354 go\n"), C(".\n"),
    });
}

TEST(SmtpClient, BareLineEndsAndLongLinesAreRefused) {
    const std::string refusal = "perm: 554 5.6.0 message has a bare CR or LF as a line ending (local)"
                                " | 0 perm 554 5.6.0 message has a bare CR or LF as a line ending (local)";
    for (const char* b : {"a\nb\r\n", "a\r\rb\r\n", "a\r\nb\r", "\n", "a\rb"}) {
        TestMessage m;
        m.body = b;
        const Played p = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_pipelining), send(m), C("")});
        ASSERT_EQ(p.done.size(), 1u) << b;
        EXPECT_EQ(p.done[0], refusal);
    }
    TestMessage longer;
    longer.body = std::string(101, 'x') + "\r\n";
    const Played p = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_pipelining), send(longer), C("")});
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0], "perm: 554 5.6.0 message has a line longer than 100 bytes (local)"
                         " | 0 perm 554 5.6.0 message has a line longer than 100 bytes (local)");
    TestMessage longest_allowed;
    longest_allowed.body = std::string(100, 'x') + "\r\n";
    const Played q = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(longest_allowed), C("MAIL FROM:<alice@example.org> SIZE=102\nRCPT TO:<bob@example.com>\nDATA\n"),
    });
    EXPECT_TRUE(q.done.empty());
}

TEST(SmtpClient, InvalidAddressesAreNeverSent) {
    TestMessage m = to({"ok@example.com", "x@example.com>\r\nRCPT TO:<evil@example.net", "sp ace@example.com", ""});
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(m), C(mail + "RCPT TO:<ok@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        S("250 Ok\n"),
    });
    ASSERT_EQ(p.done.size(), 1u);
    EXPECT_EQ(p.done[0], "accepted: 250 Ok | 0 accepted 250 Ok | 1 perm 553 5.1.3 invalid recipient address (local)"
                         " | 2 perm 553 5.1.3 invalid recipient address (local) | 3 perm 553 5.1.3 invalid recipient address (local)");
    TestMessage bad_sender;
    bad_sender.sender = "a@b>\r\nRSET";
    const Played q = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_pipelining), send(bad_sender), C("")});
    ASSERT_EQ(q.done.size(), 1u);
    EXPECT_EQ(q.done[0], "perm: 553 5.1.7 invalid sender address (local) | 0 perm 553 5.1.7 invalid sender address (local)");
    TestMessage bounce;
    bounce.sender = "";
    bounce.recipients = {"\"quoted local\"@example.com"};
    expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(bounce), C("MAIL FROM:<> SIZE=22\nRCPT TO:<\"quoted local\"@example.com>\nDATA\n"),
    });
}

TEST(SmtpClient, AbortAndQuitWithAMessageInFlight) {
    const Played timeout = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_pipelining),
        send(), C(mail + "RCPT TO:<bob@example.com>\nDATA\n"),
        S("250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        abort_session(Abort::timeout), C(""),
    });
    ASSERT_EQ(timeout.done.size(), 1u);
    EXPECT_EQ(timeout.done[0], "temp: 421 4.4.2 timed out waiting for the server (local)"
                               " | 0 temp 421 4.4.2 timed out waiting for the server (local)");
    EXPECT_EQ(timeout.failed, std::vector<std::string>{"421 4.4.2 timed out waiting for the server (local)"});
    const Played quitting = expect_client_transcript({
        S(greeting), C(ehlo), S(ehlo_plain), send(), C(mail), quit(), C(""),
    });
    ASSERT_EQ(quitting.done.size(), 1u);
    EXPECT_TRUE(quitting.closed);
    const Played idle = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_plain), abort_session(Abort::connection_lost), C("")});
    EXPECT_TRUE(idle.done.empty());
    EXPECT_EQ(idle.failed, std::vector<std::string>{"421 4.4.2 lost connection with the server (local)"});
}

TEST(SmtpClient, ReadsTheExtensions) {
    const ClientLimits limits = test_limits();
    Client c(limits, options(TlsPolicy::none));
    ClientEffects fx;
    c.feed("220 mx\r\n250-mx greets you\r\n250-pipelining\r\n250-SIZE\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
           "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-AUTH=LOGIN\r\n250 AUTH PLAIN  CRAM-MD5\r\n", fx);
    ASSERT_TRUE(c.ready());
    const Extensions& e = c.extensions();
    EXPECT_TRUE(e.pipelining && e.size && e.eight_bit_mime && e.smtputf8 && e.starttls && e.enhanced_status_codes && e.chunking);
    EXPECT_EQ(e.size_bytes_max, 0u);
    EXPECT_EQ(e.auth_mechanisms, "PLAIN CRAM-MD5");
    EXPECT_FALSE(e.offers_auth("LOGIN"));
    EXPECT_TRUE(e.offers_auth("cram-md5"));
}

}  // namespace
}  // namespace vmx::smtp::client_test
