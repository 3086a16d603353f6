// SMTP engine transcripts: every command, reply code, extension and limit, each played in one
// block and one byte at a time (transcript.h).
#include <gtest/gtest.h>

#include "net/smtp/path.h"
#include "tests/net/smtp/transcript.h"

namespace vmx::smtp::test {
namespace {

TEST(SmtpSession, DeliversOneMessage) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO client.example.com\n"), S(ehlo_reply),
        C("MAIL FROM:<alice@example.com>\n"), S("250 2.1.0 Ok\n"),
        C("RCPT TO:<bob@example.org>\n"), S("250 2.1.5 Ok\n"),
        C("DATA\n"), S("354 End data with <CR><LF>.<CR><LF>\n"),
        C("Subject: hi\n\n..leading dot\nbody\n.\n"), S(""),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
        C("QUIT\n"), S("221 2.0.0 Bye\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    const Envelope& m = o.messages[0];
    EXPECT_EQ(m.mail_from, "alice@example.com");
    ASSERT_EQ(m.recipients.size(), 1u);
    EXPECT_EQ(m.recipients[0].address, "bob@example.org");
    EXPECT_EQ(m.recipients[0].user_id, 1001u);
    EXPECT_EQ(m.body, "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n");
    EXPECT_EQ(m.helo_name, "client.example.com");
    EXPECT_TRUE(m.esmtp);
    EXPECT_FALSE(m.tls);
    EXPECT_FALSE(m.body_8bitmime);
    EXPECT_FALSE(m.smtputf8);
    EXPECT_TRUE(o.closed);
}

TEST(SmtpSession, PipelinedGroupWaitsForDurableStore) {
    // The QUIT after the message is answered only after the store's answer.
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<> BODY=8BITMIME SIZE=100\nRCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nDATA\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        C("x\n.\nQUIT\n"), S(""),
        stored(), S("250 2.0.0 Ok: queued as Q1\n221 2.0.0 Bye\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].mail_from, "");
    EXPECT_TRUE(o.messages[0].body_8bitmime);
    EXPECT_EQ(o.messages[0].recipients.size(), 2u);
}

TEST(SmtpSession, IncompleteLineIsLeftToTheCaller) {
    const Limits limits = test_limits();
    const Options options = test_options();
    FakePolicy policy;
    Session s(limits, options, policy);
    Effects fx;
    EXPECT_EQ(s.feed("NOOP", fx), 0u);
    EXPECT_EQ(fx.replies, "");
    EXPECT_EQ(s.feed("NOOP\r\nNO", fx), 6u);
    EXPECT_EQ(fx.replies, "250 2.0.0 Ok\r\n");
}

TEST(SmtpSession, HeloAndSimpleCommands) {
    expect_transcript({
        S(greeting),
        C("NOOP\nVRFY bob\nHELP\nRSET\n"),
        S("250 2.0.0 Ok\n252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\n"
          "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS\n250 2.0.0 Ok\n"),
        C("helo [192.0.2.7]\n"), S("250 mx.example.net\n"),
        C("MAIL FROM:<a@example.com> SIZE=10\n"), S("555 5.5.4 Unsupported option\n"),
        C("mail from:<a@example.com>\nrcpt to:<b@example.org>\nRSET\nDATA\n"),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.0.0 Ok\n503 5.5.1 Error: need MAIL command\n"),
        C("EXPN list\nETRN x\nTURN\nAUTH PLAIN\nFROB\n"),
        S("502 5.7.0 EXPN refused: list members are not disclosed\n"
          "502 5.5.1 ETRN refused: no mail is queued here for other hosts\n"
          "502 5.7.0 TURN refused: it reverses the connection without authentication\n"
          "503 5.5.1 Error: authentication not enabled\n500 5.5.2 Error: command not recognized\n"),
        C("QUIT now\nQUIT\n"), S("501 5.5.4 Syntax: no parameters allowed\n221 2.0.0 Bye\n"),
    });
}

TEST(SmtpSession, CommandsOutOfSequence) {
    expect_transcript({
        S(greeting),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\nSTARTTLS\n"),
        S("503 5.5.1 Error: send HELO/EHLO first\n503 5.5.1 Error: send HELO/EHLO first\n"
          "503 5.5.1 Error: send HELO/EHLO first\n503 5.5.1 Error: send HELO/EHLO first\n"),
        C("EHLO c.example\n"), S(ehlo_reply),
        C("RCPT TO:<b@example.org>\nDATA\n"),
        S("503 5.5.1 Error: need MAIL command\n503 5.5.1 Error: need MAIL command\n"),
        C("MAIL FROM:<a@example.com>\nMAIL FROM:<a@example.com>\nDATA\nSTARTTLS\n"),
        S("250 2.1.0 Ok\n503 5.5.1 Error: nested MAIL command\n503 5.5.1 Error: need RCPT command\n"
          "503 5.5.1 Error: MAIL transaction in progress\n"),
        C("RCPT TO:<b@example.org>\nDATA now\n"), S("250 2.1.5 Ok\n501 5.5.4 Syntax: no parameters allowed\n"),
    }, lenient_limits());
}

TEST(SmtpSession, SyntaxErrors) {
    expect_transcript({
        S(greeting),
        C("EHLO\nEHLO bad_name!\nEHLO c.example\n"),
        S("501 5.5.4 Syntax: EHLO hostname\n501 5.5.2 Error: invalid EHLO/HELO hostname\n" + ehlo_reply),
        C("MAIL FROM:a@example.com\nMAIL TO:<a@example.com>\nMAIL FROM:<a@@example.com>\nMAIL FROM:<a@example.com>x\n"),
        S("501 5.5.4 Syntax: MAIL FROM:<address>\n501 5.5.4 Syntax: MAIL FROM:<address>\n"
          "501 5.1.7 Bad sender address syntax\n501 5.5.4 Syntax: MAIL FROM:<address>\n"),
        C("MAIL FROM:<a@example.com> =x\nMAIL FROM:<a@example.com> FOO=bar\nMAIL FROM:<a@example.com> SIZE=10001\n"
          "MAIL FROM:<a@example.com> SIZE=ten\nMAIL FROM:<a@example.com> BODY=BINARYMIME\n"),
        S("501 5.5.4 Bad ESMTP parameter syntax\n555 5.5.4 Unsupported option\n"
          "552 5.3.4 Message size exceeds fixed limit\n501 5.5.4 Bad ESMTP parameter syntax\n"
          "555 5.5.4 Unsupported option\n"),
        C("MAIL FROM: <\"john doe\"@example.com> SIZE=10000\n"), S("250 2.1.0 Ok\n"),
        C("RCPT TO:<>\nRCPT TO:<a@example.org> NOTIFY=NEVER\nRCPT TO:<a b@example.org>\n"),
        S("501 5.5.4 Syntax: RCPT TO:<address>\n555 5.5.4 Unsupported option\n501 5.1.3 Bad recipient address syntax\n"),
    }, lenient_limits());
}

TEST(SmtpSession, RecipientVerdicts) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\n"), S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        C("RCPT TO:<nobody@example.org>\nRCPT TO:<x@elsewhere.example>\nRCPT TO:<full@example.org>\n"
          "RCPT TO:<tmp@example.org>\nDATA\n"),
        S("550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\n"
          "550 5.7.1 <x@elsewhere.example>: Relay access denied\n452 4.2.2 <full@example.org>: Mailbox full\n"
          "451 4.3.0 <tmp@example.org>: Temporary lookup failure\n554 5.5.1 Error: no valid recipients\n"),
        C("RCPT TO:<Postmaster>\nRCPT TO:<bob@example.org>\nRCPT TO:<BOB@example.org>\n"),
        S("250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n"),
        C("DATA\n.\n"), S("354 End data with <CR><LF>.<CR><LF>\n"), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    ASSERT_EQ(o.messages[0].recipients.size(), 2u);  // the duplicate is kept once
    EXPECT_EQ(o.messages[0].recipients[0].address, "Postmaster");
    EXPECT_EQ(o.messages[0].body, "");
}

TEST(SmtpSession, RelayTricksNeverReachThePolicy) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<@relay.example:a@example.com>\n"), S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        C("RCPT TO:<@example.org:victim@elsewhere.example>\nRCPT TO:<victim%elsewhere.example@example.org>\n"
          "RCPT TO:<elsewhere.example!victim@example.org>\nRCPT TO:<\"victim@elsewhere.example\"@example.org>\n"
          "RCPT TO:<victim@[192.0.2.1]>\nRCPT TO:<a@b@example.org>\n"),
        S("550 5.7.1 <victim@elsewhere.example>: Relay access denied\n"
          "550 5.7.1 <victim%elsewhere.example@example.org>: Relay access denied\n"
          "550 5.7.1 <elsewhere.example!victim@example.org>: Relay access denied\n"
          "550 5.1.3 <\"victim@elsewhere.example\"@example.org>: Recipient address rejected: quoted local part\n"
          "550 5.7.1 <victim@[192.0.2.1]>: Relay access denied\n501 5.1.3 Bad recipient address syntax\n"),
    });
    EXPECT_TRUE(o.policy_calls.empty());
}

TEST(SmtpSession, TooManyRecipients) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\n"), S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        C("RCPT TO:<u1@example.org>\nRCPT TO:<u2@example.org>\nRCPT TO:<u3@example.org>\nRCPT TO:<u4@example.org>\n"
          "RCPT TO:<u5@example.org>\nRCPT TO:<u6@example.org>\n"),
        S("250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n452 4.5.3 Error: too many recipients\n"),
        C("DATA\nx\n.\n"), S("354 End data with <CR><LF>.<CR><LF>\n"),  // the client sends the sixth later
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].recipients.size(), 5u);
    EXPECT_EQ(o.policy_calls.size(), 5u);
}

// Every RCPT counts toward recipients_max, a repeated one too (kept once in the envelope).
TEST(SmtpSession, DuplicateRecipientsCountTowardTheLimit) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\n"), S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        C("RCPT TO:<u1@example.org>\nRCPT TO:<u1@example.org>\nRCPT TO:<U1@example.org>\nRCPT TO:<u1@example.org>\n"
          "RCPT TO:<u1@example.org>\nRCPT TO:<u1@example.org>\nRCPT TO:<u2@example.org>\n"),
        S("250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n250 2.1.5 Ok\n"
          "452 4.5.3 Error: too many recipients\n452 4.5.3 Error: too many recipients\n"),
        C("DATA\nx\n.\n"), S("354 End data with <CR><LF>.<CR><LF>\n"),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
        // A new transaction starts counting again.
        C("MAIL FROM:<a@example.com>\nRCPT TO:<u2@example.org>\n"), S("250 2.1.0 Ok\n250 2.1.5 Ok\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].recipients.size(), 1u);
}

// RFC 5321 6.3: more Received: fields than hop_count_max is a loop; the limit itself passes, and
// only the header section counts (a Received: line in the body is text).
TEST(SmtpSession, MailLoopRefused) {
    Limits limits = test_limits();
    limits.hop_count_max = 3;
    const std::string three = "Received: from a\nRECEIVED : from b\n\tby c\nreceived:from d\n";
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<u1@example.org>\nDATA\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        C(three + "Received: from e\nSubject: x\n\nbody\n.\n"),
        S("554 5.4.6 Error: too many hops (Received: fields): a mail loop\n"),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<u1@example.org>\nDATA\n"),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n"),
        C(three + "Subject: x\n\nReceived: from f\nReceived: from g\n.\n"),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<u1@example.org>\nBDAT 79 LAST\n"),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n"),
        C("Received: a\r\nReceived: b\r\nReceived: c\r\nReceived: d\r\nReceived: e\r\nX: y\r\n\r\nbody\r\n"),
        S("554 5.4.6 Error: too many hops (Received: fields): a mail loop\n"),
    }, limits);
    ASSERT_EQ(o.messages.size(), 1u);
}

TEST(SmtpSession, Smtputf8) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<josé@example.com>\n"),
        S(ehlo_reply + "553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n"),
        C("MAIL FROM:<josé@example.com> SMTPUTF8 BODY=8BITMIME\nRCPT TO:<anna@bücher.example>\n"
          "RCPT TO:<jos\xc3@example.org>\n"),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n501 5.1.3 Bad recipient address syntax\n"),
        C("BDAT 4 LAST\nok\n"), S(""), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<anna@bücher.example>\n"),
        S("250 2.1.0 Ok\n553 5.6.7 Non-ASCII address requires SMTPUTF8\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_TRUE(o.messages[0].smtputf8);
    EXPECT_TRUE(o.messages[0].body_8bitmime);
    EXPECT_EQ(o.messages[0].mail_from, "josé@example.com");
    EXPECT_EQ(o.messages[0].body, "ok\r\n");
}

TEST(SmtpSession, StoreFailuresAreTemporary) {
    const std::string txn = "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\nx\n.\n";
    const std::string go = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
    const Outcome o = expect_transcript({
        S(greeting), C("EHLO c.example\n"), S(ehlo_reply),
        C(txn), S(go), store_failed(), S("451 4.3.0 Error: queue file write error\n"),
        C(txn), S(go), store_full(), S("452 4.3.1 Insufficient system storage\n"),
        C(txn), S(go), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    EXPECT_EQ(o.messages.size(), 3u);
}

// The mail-authentication verdicts at the end of data (RFC 7489 6.7 for the 550; the checks' queue
// full or DNS failing for now: 451), each followed by a session that goes on.
TEST(SmtpSession, MailAuthenticationVerdicts) {
    const std::string txn = "MAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\nx\n.\n";
    const std::string go = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";
    expect_transcript({
        S(greeting), C("EHLO c.example\n"), S(ehlo_reply),
        C(txn), S(go), answered(StoreOutcome::dmarc_reject),
        S("550 5.7.1 Error: rejected by the DMARC policy of the From: domain\n"),
        C(txn), S(go), answered(StoreOutcome::unauthenticated),
        S("550 5.7.1 Error: From: names a domain of this server, but the message is not authenticated\n"),
        C(txn), S(go), answered(StoreOutcome::checks_busy),
        S("451 4.7.0 Error: message checks could not finish, try again later\n"),
        C(txn), S(go), answered(StoreOutcome::unreadable_headers),
        S("550 5.7.1 Error: malformed header section, or more than one From: field or domain\n"),
        C(txn), S(go), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
}

TEST(SmtpSession, OversizeDataIsReadToTheEnd) {
    std::string big;
    for (int i = 0; i < 200; ++i) big += std::string(60, 'x') + "\n";  // 12,400 bytes with CRLF
    const Outcome o = expect_transcript({
        S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        C(big + "MAIL FROM:<hidden@example.com>\n.\n"), S("552 5.3.4 Message size exceeds fixed limit\n"),
        C("RCPT TO:<b@example.org>\nQUIT\n"), S("503 5.5.1 Error: need MAIL command\n221 2.0.0 Bye\n"),
    });
    EXPECT_TRUE(o.messages.empty());
}

TEST(SmtpSession, LongTextLineRefusesTheMessage) {
    const Outcome o = expect_transcript({
        S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
        C(std::string(998, 'y') + "\n" + std::string(999, 'z') + "\n.\n"),
        S("550 5.5.2 Error: message line too long\n"),
    });
    EXPECT_TRUE(o.messages.empty());
    EXPECT_LE(o.held_bytes_max, 2100u);  // block mode holds the whole step; lines are never held past the limit
}

TEST(SmtpSession, Chunking) {
    const Outcome o = expect_transcript({
        S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        C("BDAT 7\nHello\n"), S("250 2.0.0 Ok: 7 bytes\n"),
        C("BDAT 0\nBDAT 8 LAST\nWorld.\nQUIT\n"), S("250 2.0.0 Ok: 7 bytes\n"),
        stored(), S("250 2.0.0 Ok: queued as Q1\n221 2.0.0 Bye\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].body, "Hello\r\nWorld.\r\n");  // BDAT bytes are not dot-unstuffed
}

TEST(SmtpSession, BdatZeroLastAndRefusedChunks) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("BDAT 6\nQUIT\n"), S("503 5.5.1 Error: send HELO/EHLO first\n"),  // the chunk is read, not run
        C("EHLO c.example\nBDAT 6 LAST\nQUIT\n"), S(ehlo_reply + "503 5.5.1 Error: need MAIL command\r\n"),
        C("MAIL FROM:<a@example.com>\nBDAT 1 FIRST\nx"),
        S("250 2.1.0 Ok\n501 5.5.4 Syntax: BDAT count [LAST]\n"),
        C("RCPT TO:<b@example.org>\nBDAT 0 LAST\n"), S("250 2.1.5 Ok\n"),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
        C("BDAT x\nNOOP\n"), S("501 5.5.4 Syntax: BDAT count [LAST]\n"),  // no way to resync: hang up
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].body, "");
    EXPECT_TRUE(o.closed);
}

TEST(SmtpSession, BdatMixedWithData) {
    expect_transcript({
        S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        C("BDAT 4\nab\n"), S("250 2.0.0 Ok: 4 bytes\n"),
        C("DATA\n"), S("503 5.5.1 Error: DATA after BDAT\n"),
        C("RSET\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\nx\n.\n"),
        S("250 2.0.0 Ok\n250 2.1.0 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n"),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
        C("BDAT 3 LAST\nabc"), S("503 5.5.1 Error: need MAIL command\n"),
    });
}

TEST(SmtpSession, OversizeChunks) {
    const std::string chunk(6000, 'c');
    expect_transcript({
        S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        C("BDAT 6000\n" + chunk), S("250 2.0.0 Ok: 6000 bytes\n"),
        C("BDAT 6000\n" + chunk), S("552 5.3.4 Message size exceeds fixed limit\n"),
        C("BDAT 6000 LAST\n" + chunk), S("503 5.5.1 Error: need MAIL command\n"),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nBDAT 10001 LAST\n" + std::string(10001, 'd')),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n552 5.3.4 Message size exceeds fixed limit\n"),
    });
}

TEST(SmtpSession, StartTlsResetsTheSession) {
    const Outcome o = expect_transcript({
        S(greeting), C("EHLO c.example\n"), S(ehlo_reply),
        C("STARTTLS\n"), S("220 2.0.0 Ready to start TLS\n"), tls(),
        C("MAIL FROM:<a@example.com>\n"), S("503 5.5.1 Error: send HELO/EHLO first\n"),
        C("EHLO c.example\n"), S(ehlo_reply_tls),
        C("STARTTLS\n"), S("554 5.5.1 Error: TLS already active\n"),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\nx\n.\n"),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n"),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_TRUE(o.messages[0].tls);
}

TEST(SmtpSession, StartTlsPolicies) {
    Options none = test_options(StartTls::unavailable);
    const std::string ehlo_no_tls = ehlo_reply_tls;
    expect_transcript({S(greeting), C("EHLO c.example\nSTARTTLS\n"),
                       S(ehlo_no_tls + "454 4.7.0 TLS not available due to local problem\r\n")},
                      test_limits(), none);
    expect_transcript({S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\n"),
                       S(ehlo_reply + "530 5.7.0 Must issue a STARTTLS command first\r\n"
                                      "530 5.7.0 Must issue a STARTTLS command first\r\n"
                                      "530 5.7.0 Must issue a STARTTLS command first\r\n"),
                       C("BDAT 2 LAST\nxy"), S("530 5.7.0 Must issue a STARTTLS command first\n"),
                       C("STARTTLS\n"), S("220 2.0.0 Ready to start TLS\n"), tls(),
                       C("EHLO c.example\nMAIL FROM:<a@example.com>\n"), S(ehlo_reply_tls + "250 2.1.0 Ok\r\n")},
                      test_limits(), test_options(StartTls::required));
    expect_transcript({S(greeting), C("EHLO c.example\nSTARTTLS\n"),
                       S(ehlo_reply_tls + "554 5.5.1 Error: TLS already active\r\n")},
                      test_limits(), test_options(StartTls::offered, Transport::tls));
}

TEST(SmtpSession, TimeoutAndDrain) {
    expect_transcript({S(greeting), C("EHLO c.example\n"), S(ehlo_reply), timeout(),
                       S("421 4.4.2 mx.example.net Error: timeout exceeded\n"), C("NOOP\n"), S("")});
    expect_transcript({S(greeting), C("EHLO c.example\n"), S(ehlo_reply), drain(),
                       S("421 4.3.2 mx.example.net Service shutting down\n")});
    // During a message: its reply first, then the goodbye.
    expect_transcript({S(greeting), C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\n"),
                       S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"),
                       drain(), S(""), C("x\n.\n"), S(""), stored(),
                       S("250 2.0.0 Ok: queued as Q1\n421 4.3.2 mx.example.net Service shutting down\n")});
}

TEST(SmtpSession, ErrorLimitDisconnects) {
    std::string junk;
    for (int i = 0; i < 12; ++i) junk += "FROB\n";
    std::string expected;
    for (int i = 0; i < 10; ++i) expected += "500 5.5.2 Error: command not recognized\n";
    const Outcome o = expect_transcript({S(greeting), C(junk), S(expected + "421 4.7.0 mx.example.net Error: too many errors\n")});
    EXPECT_TRUE(o.closed);
}

TEST(SmtpSession, EhloAndRsetResetTheTransaction) {
    const Outcome o = expect_transcript({
        S(greeting), C("ehlo c.example\nmail from:<a@example.com>\nrcpt to:<b@example.org>\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"),
        C("EHLO again.example\nDATA\n"), S(ehlo_reply + "503 5.5.1 Error: need MAIL command\r\n"),
        C("MAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nBDAT 2\nab"),
        S("250 2.1.0 Ok\n250 2.1.5 Ok\n250 2.0.0 Ok: 2 bytes\n"),
        C("RSET\nBDAT 2 LAST\ncd"), S("250 2.0.0 Ok\n503 5.5.1 Error: need MAIL command\n"),
        C("HELO third.example\nMAIL FROM:<a@example.com>\nRCPT TO:<c@example.org>\nDATA\nz\n.\n"),
        S("250 mx.example.net\n250 2.1.0 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n"),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].helo_name, "third.example");
    EXPECT_FALSE(o.messages[0].esmtp);
    EXPECT_EQ(o.messages[0].body, "z\r\n");
}

TEST(SmtpSession, PolicySeesTheParsedAddress) {
    struct Recorder final : RecipientPolicy {
        RcptDecision check(const Address& a) override {
            text = a.text;
            local = a.local_part;
            domain = a.domain;
            utf8 = a.smtputf8;
            return {RcptVerdict::accepted, 7};
        }
        std::string text, local, domain;
        bool utf8 = false;
    } policy;
    const Limits limits = test_limits();
    const Options options = test_options();
    Session s(limits, options, policy);
    Effects fx;
    s.feed("EHLO c.example\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<Anna.B@Example.ORG>\r\n", fx);
    EXPECT_EQ(policy.text, "Anna.B@Example.ORG");
    EXPECT_EQ(policy.local, "Anna.B");
    EXPECT_EQ(policy.domain, "Example.ORG");
    EXPECT_TRUE(policy.utf8);
}

TEST(SmtpPath, ParsesPathsAndParameters) {
    Path p;
    ASSERT_TRUE(parse_path("<a@example.org> SIZE=10 BODY=8BITMIME", p));
    EXPECT_EQ(p.mailbox, "a@example.org");
    EXPECT_EQ(p.local_part, "a");
    EXPECT_EQ(p.domain, "example.org");
    EXPECT_EQ(p.params, "SIZE=10 BODY=8BITMIME");
    Params params;
    ASSERT_TRUE(parse_params(p.params, params));
    ASSERT_EQ(params.count, 2u);
    EXPECT_EQ(params.items[1].value, "8BITMIME");
    ASSERT_TRUE(parse_path("<\"a>b\"@example.org>", p));
    EXPECT_EQ(p.local_part, "\"a>b\"");
    ASSERT_TRUE(parse_path("<@x.example,@y.example:a@example.org>", p));
    EXPECT_TRUE(p.source_route);
    EXPECT_EQ(p.mailbox, "a@example.org");
    ASSERT_TRUE(parse_path("<>", p));
    EXPECT_TRUE(p.mailbox.empty());
    EXPECT_FALSE(parse_path("a@example.org", p));
    EXPECT_FALSE(parse_path("<a@example.org", p));
    EXPECT_FALSE(parse_path("<@bad_hop:a@example.org>", p));
    EXPECT_FALSE(parse_path("<@x.example:>", p));
    EXPECT_FALSE(parse_params("A B C D E F G H I", params));  // more than params_max
    EXPECT_FALSE(parse_params("SIZE=1=2", params));
}

}  // namespace
}  // namespace vmx::smtp::test
