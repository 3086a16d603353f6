// Submission mode of the SMTP engine (RFC 6409, RFC 4954): AUTH PLAIN and LOGIN only under TLS, the
// login's verdicts, nothing before a login, the sender bound in envelope and header, the hostile
// SASL cases, each transcript played in one block and one byte at a time (transcript.h).
#include <gtest/gtest.h>

#include "tests/net/smtp/transcript.h"

namespace vmx::smtp::test {
namespace {

// "\0alice@example.org\0secret" and the LOGIN pieces.
const std::string plain_alice = "AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==";
const std::string login_alice = "YWxpY2VAZXhhbXBsZS5vcmc=";
const std::string login_secret = "c2VjcmV0";

const Options implicit_tls = submission_options(Transport::tls);
const Options starttls_required = submission_options(Transport::plain);

// A session on 465 that has logged in as alice.
std::vector<Step> logged_in(std::vector<Step> rest) {
    std::vector<Step> steps{
        S(greeting),
        C("EHLO client.example.com\n"), S(ehlo_submission_tls),
        C("AUTH PLAIN " + plain_alice + "\n"), S(""),
        auth(AuthOutcome::ok), S("235 2.7.0 Authentication successful\n"),
    };
    steps.insert(steps.end(), rest.begin(), rest.end());
    return steps;
}

TEST(SmtpSubmission, StartTlsThenAuthThenMessage) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO client.example.com\n"), S(ehlo_submission_plain),  // no AUTH in clear (RFC 4954 14)
        C("AUTH PLAIN " + plain_alice + "\n"), S("530 5.7.0 Must issue a STARTTLS command first\n"),
        C("MAIL FROM:<alice@example.org>\n"), S("530 5.7.0 Must issue a STARTTLS command first\n"),
        C("STARTTLS\n"), S("220 2.0.0 Ready to start TLS\n"),
        tls(),
        C("EHLO client.example.com\n"), S(ehlo_submission_tls),
        C("MAIL FROM:<alice@example.org>\n"), S("530 5.7.0 Authentication required\n"),
        C("RCPT TO:<bob@example.org>\n"), S("530 5.7.0 Authentication required\n"),
        C("DATA\n"), S("530 5.7.0 Authentication required\n"),
        C("AUTH PLAIN " + plain_alice + "\n"), S(""),
        auth(AuthOutcome::ok), S("235 2.7.0 Authentication successful\n"),
        C("MAIL FROM:<alice@example.org>\n"), S("250 2.1.0 Ok\n"),
        C("RCPT TO:<bob@example.org>\n"), S("250 2.1.5 Ok\n"),
        C("DATA\n"), S("354 End data with <CR><LF>.<CR><LF>\n"),
        C("From: Alice <alice@example.org>\nSubject: hi\n\nbody\n.\n"), S(""),
        stored(), S("250 2.0.0 Ok: queued as Q1\n"),
        C("QUIT\n"), S("221 2.0.0 Bye\n"),
    }, test_limits(), starttls_required);
    ASSERT_EQ(o.logins.size(), 1u);
    EXPECT_EQ(o.logins[0], (SeenAuth{"alice@example.org", "secret", AuthMechanism::plain}));
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_EQ(o.messages[0].mail_from, "alice@example.org");
    EXPECT_FALSE(o.messages[0].has_date);
    EXPECT_FALSE(o.messages[0].has_message_id);
    EXPECT_TRUE(o.messages[0].tls);
}

TEST(SmtpSubmission, ImplicitTlsOffersAuthAndNoStartTls) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO client.example.com\n"), S(ehlo_submission_tls),
        C("STARTTLS\n"), S("554 5.5.1 Error: TLS already active\n"),
        C("AUTH LOGIN\n"), S("334 VXNlcm5hbWU6\n"),
        C(login_alice + "\n"), S("334 UGFzc3dvcmQ6\n"),
        C(login_secret + "\n"), S(""),
        auth(AuthOutcome::ok), S("235 2.7.0 Authentication successful\n"),
    }, test_limits(), implicit_tls);
    ASSERT_EQ(o.logins.size(), 1u);
    EXPECT_EQ(o.logins[0], (SeenAuth{"alice@example.org", "secret", AuthMechanism::login}));
}

TEST(SmtpSubmission, SaslInitialResponsesAndChallenges) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_tls),
        C("AUTH LOGIN " + login_alice + "\n"), S("334 UGFzc3dvcmQ6\n"),
        C(login_secret + "\n"), S(""),
        auth(AuthOutcome::bad_credentials), S("535 5.7.8 Error: authentication failed\n"),
        C("auth plain\n"), S("334 \n"),
        C(plain_alice + "\n"), S(""),
        auth(AuthOutcome::ok), S("235 2.7.0 Authentication successful\n"),
    }, test_limits(), implicit_tls);
    ASSERT_EQ(o.logins.size(), 2u);
    EXPECT_EQ(o.logins[0].mechanism, AuthMechanism::login);
    EXPECT_EQ(o.logins[1].mechanism, AuthMechanism::plain);
}

TEST(SmtpSubmission, EveryVerdictHasItsReply) {
    expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_tls),
        C("AUTH PLAIN " + plain_alice + "\n"), auth(AuthOutcome::temp_failure),
        S("454 4.7.0 Temporary authentication failure\n"),
        C("AUTH PLAIN " + plain_alice + "\n"), auth(AuthOutcome::disabled), S("525 5.7.13 Error: user account disabled\n"),
        C("AUTH PLAIN " + plain_alice + "\n"), auth(AuthOutcome::policy_denied),
        S("535 5.7.8 Error: authentication failed: refused by the organisation's policy (app password or network)\n"),
        C("MAIL FROM:<alice@example.org>\n"), S("530 5.7.0 Authentication required\n"),
    }, lenient_limits(), implicit_tls);
}

TEST(SmtpSubmission, GuessingEndsTheSession) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_tls),
        C("AUTH PLAIN " + plain_alice + "\n"), auth(AuthOutcome::bad_credentials), S("535 5.7.8 Error: authentication failed\n"),
        C("AUTH PLAIN " + plain_alice + "\n"), auth(AuthOutcome::bad_credentials), S("535 5.7.8 Error: authentication failed\n"),
        C("AUTH PLAIN " + plain_alice + "\n"), auth(AuthOutcome::bad_credentials),
        S("535 5.7.8 Error: authentication failed\n421 4.7.0 mx.example.net Error: too many failed logins\n"),
    }, lenient_limits(), implicit_tls);
    EXPECT_TRUE(o.closed);
    EXPECT_EQ(o.logins.size(), 3u);
}

TEST(SmtpSubmission, MalformedSasl) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_tls),
        C("AUTH\n"), S("501 5.5.4 Syntax: AUTH mechanism [initial-response]\n"),
        C("AUTH PLAIN a b\n"), S("501 5.5.4 Syntax: AUTH mechanism [initial-response]\n"),
        C("AUTH CRAM-MD5\n"), S("504 5.5.4 Error: unsupported authentication mechanism\n"),
        C("AUTH PLAIN not*base64\n"), S("501 5.5.2 Cannot decode response\n"),
        C("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA\n"), S("501 5.5.2 Cannot decode response\n"),  // unpadded
        C("AUTH PLAIN =\n"), S("501 5.5.2 Error: malformed authentication response\n"),
        C("AUTH PLAIN c2VjcmV0\n"), S("501 5.5.2 Error: malformed authentication response\n"),  // no NUL at all
        // A NUL inside the password splits it into a fourth field.
        C("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlYwByZXQ=\n"), S("501 5.5.2 Error: malformed authentication response\n"),
        C("AUTH PLAIN AABzZWNyZXQ=\n"), S("501 5.5.2 Error: malformed authentication response\n"),  // empty authcid
        C("AUTH LOGIN YWwAaWNl\n"), S("501 5.5.2 Error: malformed authentication response\n"),       // NUL in the name
        C("AUTH PLAIN\n"), S("334 \n"),
        C("*\n"), S("501 5.7.0 Authentication aborted\n"),
        C("AUTH LOGIN\n"), S("334 VXNlcm5hbWU6\n"),
        C(login_alice + "\n"), S("334 UGFzc3dvcmQ6\n"),
        C("*\n"), S("501 5.7.0 Authentication aborted\n"),
        C("AUTH LOGIN\n"), S("334 VXNlcm5hbWU6\n"),
        C(login_alice + "\n"), S("334 UGFzc3dvcmQ6\n"),
        C("=\n"), S("501 5.5.2 Cannot decode response\n"),  // "=" means empty only as an initial response
        C("AUTH LOGIN\n"), S("334 VXNlcm5hbWU6\n"),
        C(login_alice + "\n"), S("334 UGFzc3dvcmQ6\n"),
        C("\n"), S("501 5.5.2 Error: malformed authentication response\n"),  // an empty password
    }, lenient_limits(), implicit_tls);
    EXPECT_TRUE(o.logins.empty());  // none of these reached a password check
}

TEST(SmtpSubmission, AuthorizationIdentity) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_tls),
        // authzid = bob, authcid = alice: acting as someone else is never allowed.
        C("AUTH PLAIN Ym9iQGV4YW1wbGUub3JnAGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\n"),
        S("535 5.7.8 Error: authentication failed: authorization identity not allowed\n"),
        // authzid equal to authcid is the same login.
        C("AUTH PLAIN YWxpY2VAZXhhbXBsZS5vcmcAYWxpY2VAZXhhbXBsZS5vcmcAc2VjcmV0\n"), S(""),
        auth(AuthOutcome::ok), S("235 2.7.0 Authentication successful\n"),
    }, lenient_limits(), implicit_tls);
    ASSERT_EQ(o.logins.size(), 1u);
    EXPECT_EQ(o.logins[0].username, "alice@example.org");
}

TEST(SmtpSubmission, OverlongSaslLine) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_tls),
        C("AUTH PLAIN\n"), S("334 \n"),
        C(std::string(3000, 'A') + "\n"), S("500 5.5.6 Authentication Exchange line is too long\n"),
        C("NOOP\n"), S("250 2.0.0 Ok\n"),
    }, lenient_limits(), implicit_tls);
    EXPECT_TRUE(o.logins.empty());
}

TEST(SmtpSubmission, SecondAuthAndAuthBeforeEhlo) {
    expect_transcript(logged_in({
        C("AUTH PLAIN " + plain_alice + "\n"), S("503 5.5.1 Error: already authenticated\n"),
        C("MAIL FROM:<alice@example.org>\n"), S("250 2.1.0 Ok\n"),
        C("AUTH LOGIN\n"), S("503 5.5.1 Error: already authenticated\n"),
    }), lenient_limits(), implicit_tls);
    expect_transcript({
        S(greeting),
        C("AUTH PLAIN " + plain_alice + "\n"), S("503 5.5.1 Error: send HELO/EHLO first\n"),
    }, lenient_limits(), implicit_tls);
}

// Pipelined commands after AUTH wait for the verdict and are read under it.
TEST(SmtpSubmission, PipelinedAuthWaitsForTheVerdict) {
    const Outcome failed = expect_transcript({
        S(greeting),
        C("EHLO c.example\nAUTH PLAIN " + plain_alice + "\nMAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.org>\n"),
        S(ehlo_submission_tls),
        auth(AuthOutcome::bad_credentials),
        S("535 5.7.8 Error: authentication failed\n530 5.7.0 Authentication required\n530 5.7.0 Authentication required\n"),
    }, lenient_limits(), implicit_tls);
    EXPECT_TRUE(failed.policy_calls.empty());
    const Outcome ok = expect_transcript({
        S(greeting),
        C("EHLO c.example\nAUTH PLAIN " + plain_alice + "\nMAIL FROM:<alice@example.org>\nRCPT TO:<bob@example.org>\n"),
        S(ehlo_submission_tls),
        auth(AuthOutcome::ok),
        S("235 2.7.0 Authentication successful\n250 2.1.0 Ok\n250 2.1.5 Ok\n"),
    }, lenient_limits(), implicit_tls);
    EXPECT_EQ(ok.policy_calls.size(), 1u);
}

// STARTTLS on 587 with a pipelined AUTH: the injected command is dropped, never run under TLS.
TEST(SmtpSubmission, AuthInjectedAfterStartTlsIsDropped) {
    const Outcome o = expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_plain),
        C("STARTTLS\nAUTH PLAIN " + plain_alice + "\n"), S("220 2.0.0 Ready to start TLS\n"),
        tls(),
        C("NOOP\n"), S("250 2.0.0 Ok\n"),
    }, lenient_limits(), starttls_required);
    EXPECT_TRUE(o.logins.empty());
    EXPECT_GT(o.dropped_after_starttls, 0u);
}

TEST(SmtpSubmission, EnvelopeSenderIsBoundToTheLogin) {
    const Outcome o = expect_transcript(logged_in({
        C("MAIL FROM:<>\n"), S("553 5.7.1 <>: Sender address rejected: not allowed on submission\n"),
        C("MAIL FROM:<bob@example.org>\n"),
        S("553 5.7.1 <bob@example.org>: Sender address rejected: not owned by the authenticated user\n"),
        C("MAIL FROM:<alias@example.org>\n"), S("250 2.1.0 Ok\n"),
        C("RSET\n"), S("250 2.0.0 Ok\n"),
        C("MAIL FROM:<alice@example.org> AUTH=<>\n"), S("250 2.1.0 Ok\n"),
        C("RSET\n"), S("250 2.0.0 Ok\n"),
        C("MAIL FROM:<alice@example.org> AUTH=bob+40example.org\n"), S("250 2.1.0 Ok\n"),  // syntax only: ignored
        C("RSET\n"), S("250 2.0.0 Ok\n"),
        C("MAIL FROM:<alice@example.org> AUTH=a=b\n"), S("501 5.5.4 Bad ESMTP parameter syntax\n"),
        C("MAIL FROM:<alice@example.org> AUTH=a+4\n"), S("501 5.5.4 Bad ESMTP parameter syntax\n"),
        C("MAIL FROM:<alice@example.org> AUTH\n"), S("501 5.5.4 Bad ESMTP parameter syntax\n"),
    }), lenient_limits(), implicit_tls);
    EXPECT_EQ(o.sender_calls, (std::vector<std::string>{"bob@example.org", "alias@example.org", "alice@example.org",
                                                        "alice@example.org"}));
}

// One message with `header` as its header section, and the reply to its end.
std::vector<Step> message_with(const std::string& header, const std::string& reply, bool stores) {
    std::vector<Step> steps = logged_in({
        C("MAIL FROM:<alice@example.org>\n"), S("250 2.1.0 Ok\n"),
        C("RCPT TO:<bob@example.org>\n"), S("250 2.1.5 Ok\n"),
        C("DATA\n"), S("354 End data with <CR><LF>.<CR><LF>\n"),
        C(header + "\nbody\n.\n"),
    });
    if (stores) {
        steps.push_back(S(""));
        steps.push_back(stored());
    }
    steps.push_back(S(reply));
    return steps;
}

TEST(SmtpSubmission, HeaderFromIsBoundToTheLogin) {
    const std::string from_refused = "553 5.7.1 Error: From: header names an address you may not send as\n";
    const std::string from_missing = "553 5.7.1 Error: the message needs one From: header with valid addresses\n";
    const std::string sender_refused = "553 5.7.1 Error: Sender: header names an address you may not send as\n";
    const std::string ok = "250 2.0.0 Ok: queued as Q1\n";
    expect_transcript(message_with("From: bob@example.org\n", from_refused, false), lenient_limits(), implicit_tls);
    expect_transcript(message_with("From: \"Alice\" <alice@example.org>, <bob@example.org>\nSender: alice@example.org\n",
                                   from_refused, false), lenient_limits(), implicit_tls);
    expect_transcript(message_with("Subject: no from\n", from_missing, false), lenient_limits(), implicit_tls);
    expect_transcript(message_with("From: alice@example.org\nFrom: alias@example.org\n", from_missing, false),
                      lenient_limits(), implicit_tls);
    expect_transcript(message_with("From: <alice@example.org\n", from_missing, false), lenient_limits(), implicit_tls);
    expect_transcript(message_with("From: alice@example.org\nSender: bob@example.org\n", sender_refused, false),
                      lenient_limits(), implicit_tls);
    // Folded, with a comment and a display name: still alice.
    expect_transcript(message_with("FROM: Alice (home)\n <alice@example.org>\n", ok, true), lenient_limits(), implicit_tls);
    // A From: line in the body is not a header.
    expect_transcript(message_with("From: alias@example.org\n\nFrom: bob@example.org", ok, true), lenient_limits(),
                      implicit_tls);
}

TEST(SmtpSubmission, DateAndMessageIdAreNoted) {
    const Outcome o = expect_transcript(
        message_with("From: alice@example.org\nDate: Mon, 23 Nov 2026 03:28:12 +0000\nMessage-ID: <a@b>\n",
                     "250 2.0.0 Ok: queued as Q1\n", true),
        lenient_limits(), implicit_tls);
    ASSERT_EQ(o.messages.size(), 1u);
    EXPECT_TRUE(o.messages[0].has_date);
    EXPECT_TRUE(o.messages[0].has_message_id);
}

TEST(SmtpSubmission, SmugglingIsRefusedAsOnTheMx) {
    const Outcome o = expect_transcript(logged_in({
        C("MAIL FROM:<alice@example.org>\n"), S("250 2.1.0 Ok\n"),
        C("RCPT TO:<bob@example.org>\n"), S("250 2.1.5 Ok\n"),
        C("DATA\n"), S("354 End data with <CR><LF>.<CR><LF>\n"),
        raw("From: alice@example.org\r\n\r\nx\n.\nMAIL FROM:<alice@example.org>\r\n.\r\n"),
        S("550 5.5.2 Error: bare <CR> or <LF> in message data\n"),
    }), lenient_limits(), implicit_tls);
    EXPECT_TRUE(o.messages.empty());
}

TEST(SmtpSubmission, BdatBeforeAuthIsReadAndRefused) {
    expect_transcript({
        S(greeting),
        C("EHLO c.example\n"), S(ehlo_submission_tls),
        raw("BDAT 5 LAST\r\nhello"), S("530 5.7.0 Authentication required\n"),
        C("NOOP\n"), S("250 2.0.0 Ok\n"),
    }, lenient_limits(), implicit_tls);
}

TEST(SmtpSubmission, HourlyLimitAndLogout) {
    std::vector<Step> steps = message_with("From: alice@example.org\n", "", false);
    steps.push_back(over_rate());
    steps.push_back(S("450 4.7.1 Error: hourly sending limit reached, try again later\n"));
    steps.push_back(logout());
    steps.push_back(S("421 4.7.0 mx.example.net Error: session ended by a logout\n"));
    const Outcome o = expect_transcript(steps, lenient_limits(), implicit_tls);
    EXPECT_TRUE(o.closed);
}

TEST(SmtpSubmission, LogoutDuringAMessageWaitsForItsReply) {
    std::vector<Step> steps = message_with("From: alice@example.org\n", "", false);
    steps.push_back(logout());
    steps.push_back(S(""));
    steps.push_back(stored());
    steps.push_back(S("250 2.0.0 Ok: queued as Q1\n421 4.7.0 mx.example.net Error: session ended by a logout\n"));
    expect_transcript(steps, lenient_limits(), implicit_tls);
}

TEST(SmtpSubmission, MxRefusesAuthEverywhere) {
    expect_transcript({
        S(greeting),
        C("AUTH PLAIN " + plain_alice + "\n"), S("503 5.5.1 Error: authentication not enabled\n"),
        C("EHLO c.example\n"), S(ehlo_reply),
        C("AUTH PLAIN " + plain_alice + "\n"), S("503 5.5.1 Error: authentication not enabled\n"),
    }, lenient_limits(), test_options());
}

}  // namespace
}  // namespace vmx::smtp::test
