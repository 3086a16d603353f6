// SMTP client engine transcripts of AUTH towards a smarthost (RFC 4954): PLAIN with its initial
// response, LOGIN's two challenges, refusals, no credential without TLS, no usable mechanism, and
// nothing of a message sent before 235; each played in one block and one byte at a time.
#include <gtest/gtest.h>

#include "tests/net/smtp/client_transcript.h"

namespace vmx::smtp::client_test {
namespace {

const std::string greeting = "220 relay.example.net ESMTP\n";
const std::string ehlo = "EHLO out.example.org\n";
const std::string ehlo_starttls = "250-relay.example.net\n250-PIPELINING\n250-AUTH PLAIN LOGIN\n250 STARTTLS\n";
const std::string ehlo_tls_plain = "250-relay.example.net\n250-PIPELINING\n250 AUTH LOGIN PLAIN\n";
const std::string ehlo_tls_login = "250-relay.example.net\n250-PIPELINING\n250 AUTH LOGIN\n";
const std::string mail = "MAIL FROM:<alice@example.org>\n";
const std::string group = mail + "RCPT TO:<bob@example.com>\nDATA\n";
const std::string body = "Subject: hi\r\n\r\nhello\r\n";

const std::string password = "s3cret pass";
// base64("\0relay@example.org\0s3cret pass"), base64("relay@example.org"), base64("s3cret pass").
const std::string plain_response = "AHJlbGF5QGV4YW1wbGUub3JnAHMzY3JldCBwYXNz";
const std::string login_username = "cmVsYXlAZXhhbXBsZS5vcmc=";
const std::string login_password = "czNjcmV0IHBhc3M=";

ClientOptions auth_options(TlsPolicy tls = TlsPolicy::encrypt) {
    ClientOptions o = options(tls);
    const auto* p = reinterpret_cast<const std::uint8_t*>(password.data());
    o.auth = ClientAuth{"relay@example.org", crypto::SecretBytes::copy_of({p, password.size()})};
    return o;
}

// Greeting, EHLO, STARTTLS and the EHLO after the handshake, whose reply is `ehlo_after_tls`.
std::vector<Step> through_tls(const std::string& ehlo_after_tls) {
    return {S(greeting), C(ehlo), S(ehlo_starttls), C("STARTTLS\n"), S("220 2.0.0 go ahead\n"), C(""),
            tls(), C(ehlo), S(ehlo_after_tls)};
}

std::vector<Step> operator+(std::vector<Step> a, const std::vector<Step>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

void expect_no_password(const Played& p) {
    for (const std::string& f : p.failed) EXPECT_EQ(f.find(password), std::string::npos) << f;
    for (const std::string& d : p.done) EXPECT_EQ(d.find(password), std::string::npos) << d;
}

TEST(SmtpClientAuth, PlainWithInitialResponseAfterStartTls) {
    const Played p = expect_client_transcript(through_tls(ehlo_tls_plain) + std::vector<Step>{
        C("AUTH PLAIN " + plain_response + "\n"),
        S("235 2.7.0 Authentication successful\n"), C(""),
        send(), C(group),
        S("250 Ok\n250 Ok\n354 go\n"), C(body + ".\n"),
        S("250 2.0.0 queued\n"), C(""),
    }, auth_options());
    EXPECT_EQ(p.done, std::vector<std::string>{"accepted: 250 2.0.0 queued | 0 accepted 250 2.0.0 queued"});
    EXPECT_TRUE(p.failed.empty());
    EXPECT_TRUE(p.ready);
}

TEST(SmtpClientAuth, LoginAnswersBothChallenges) {
    // LOGIN when PLAIN is not offered; the challenge texts ("Username:", "Password:") are not relied on.
    const Played p = expect_client_transcript(through_tls(ehlo_tls_login) + std::vector<Step>{
        C("AUTH LOGIN\n"),
        S("334 VXNlcm5hbWU6\n"), C(login_username + "\n"),
        S("334 UGFzc3dvcmQ6\n"), C(login_password + "\n"),
        S("235 2.7.0 ok\n"), C(""),
        send(), C(group),
    }, auth_options());
    EXPECT_TRUE(p.failed.empty());
}

TEST(SmtpClientAuth, RefusedCredentialFailsTheSessionWithTheServersReply) {
    for (const std::string refusal : {"535 5.7.8 Authentication credentials invalid\n", "454 4.7.0 try again later\n"}) {
        const Played p = expect_client_transcript(through_tls(ehlo_tls_plain) + std::vector<Step>{
            C("AUTH PLAIN " + plain_response + "\n"),
            S(refusal), C("QUIT\n"),
        }, auth_options());
        ASSERT_EQ(p.failed.size(), 1u);
        EXPECT_EQ(p.failed[0] + "\n", refusal);  // the server's reply, not made up
        EXPECT_TRUE(p.closed);
        expect_no_password(p);
    }
    const Played login = expect_client_transcript(through_tls(ehlo_tls_login) + std::vector<Step>{
        C("AUTH LOGIN\n"), S("334 VXNlcm5hbWU6\n"), C(login_username + "\n"),
        S("334 UGFzc3dvcmQ6\n"), C(login_password + "\n"),
        S("535 5.7.8 no\n"), C("QUIT\n"),
    }, auth_options());
    EXPECT_EQ(login.failed, std::vector<std::string>{"535 5.7.8 no"});
}

TEST(SmtpClientAuth, NoCredentialWithoutTls) {
    // Opportunistic TLS that did not happen (not offered, refused, impossible, or policy none):
    // the credential is not sent, QUIT is.
    const std::string tls_required = "454 4.7.0 TLS required for AUTH: the credential was not sent (local)";
    const std::string ehlo_no_starttls = "250-relay.example.net\n250 AUTH PLAIN LOGIN\n";
    const Played not_offered = expect_client_transcript(
        {S(greeting), C(ehlo), S(ehlo_no_starttls), C("QUIT\n")}, auth_options(TlsPolicy::may));
    EXPECT_EQ(not_offered.failed, std::vector<std::string>{tls_required});
    EXPECT_TRUE(not_offered.closed);
    const Played refused = expect_client_transcript(
        {S(greeting), C(ehlo), S(ehlo_starttls), C("STARTTLS\n"), S("454 4.7.0 TLS not available\n"), C("QUIT\n")},
        auth_options(TlsPolicy::may));
    EXPECT_EQ(refused.failed, std::vector<std::string>{tls_required});
    const Played policy_none = expect_client_transcript(
        {S(greeting), C(ehlo), S(ehlo_starttls), C("QUIT\n")}, auth_options(TlsPolicy::none));
    EXPECT_EQ(policy_none.failed, std::vector<std::string>{tls_required});
    ClientOptions impossible = auth_options(TlsPolicy::may);
    impossible.tls_possible = false;
    const Played retried = expect_client_transcript({S(greeting), C(ehlo), S(ehlo_starttls), C("QUIT\n")}, impossible);
    EXPECT_EQ(retried.failed, std::vector<std::string>{tls_required});
}

TEST(SmtpClientAuth, PlaintextAuthOnlyWhenAllowed) {
    ClientOptions o = auth_options(TlsPolicy::none);
    o.auth_without_tls = true;
    const Played p = expect_client_transcript({
        S(greeting), C(ehlo), S("250-relay.example.net\n250 AUTH PLAIN\n"), C("AUTH PLAIN " + plain_response + "\n"),
        S("235 2.7.0 ok\n"), C(""),
        send(), C(mail),
    }, o);
    EXPECT_TRUE(p.failed.empty());
}

TEST(SmtpClientAuth, NoUsableMechanism) {
    const std::string none = "454 4.7.0 server offers no usable AUTH mechanism (PLAIN or LOGIN) (local)";
    const Played cram = expect_client_transcript(
        through_tls("250-relay.example.net\n250 AUTH CRAM-MD5 XOAUTH2\n") + std::vector<Step>{C("QUIT\n")}, auth_options());
    EXPECT_EQ(cram.failed, std::vector<std::string>{none});
    const Played no_auth = expect_client_transcript(
        through_tls("250-relay.example.net\n250 PIPELINING\n") + std::vector<Step>{C("QUIT\n")}, auth_options());
    EXPECT_EQ(no_auth.failed, std::vector<std::string>{none});
    // An old server answering HELO offers nothing.
    ClientOptions o = auth_options(TlsPolicy::may);
    o.auth_without_tls = true;
    const Played helo = expect_client_transcript(
        {S(greeting), C(ehlo), S("502 5.5.2 no EHLO\n"), C("HELO out.example.org\n"), S("250 hi\n"), C("QUIT\n")}, o);
    EXPECT_EQ(helo.failed, std::vector<std::string>{none});
}

TEST(SmtpClientAuth, NothingOfAMessageGoesOutBefore235) {
    // PIPELINING is offered, yet AUTH stands alone: the client is not ready until 235.
    const Played waiting = expect_client_transcript(
        through_tls(ehlo_tls_plain) + std::vector<Step>{C("AUTH PLAIN " + plain_response + "\n")}, auth_options());
    EXPECT_FALSE(waiting.ready);
    EXPECT_TRUE(waiting.failed.empty());

    Client c(test_limits(), auth_options(TlsPolicy::may));
    ClientEffects fx;
    c.feed("220 x\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n", fx);
    fx = {};
    c.on_tls_started(fx);
    fx = {};
    // The server's 235 and stray bytes arrive with the EHLO reply: read in order, one reply at a time.
    c.feed("250-x\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n", fx);
    EXPECT_EQ(fx.commands, "AUTH PLAIN " + plain_response + "\r\n");
    EXPECT_FALSE(c.ready());
    fx = {};
    c.feed("235 2.7.0 ok\r\n", fx);
    EXPECT_TRUE(c.ready());
    EXPECT_EQ(fx.commands, "");
}

TEST(SmtpClientAuth, ChallengeAfterAnInitialResponseIsAProtocolError) {
    // RFC 4954 4: with the initial response sent there is nothing left to answer.
    const Played p = expect_client_transcript(through_tls(ehlo_tls_plain) + std::vector<Step>{
        C("AUTH PLAIN " + plain_response + "\n"), S("334 \n"), C(""),
    }, auth_options());
    EXPECT_EQ(p.failed, std::vector<std::string>{"421 4.5.0 protocol error: 334 when the AUTH exchange was complete (local)"});
    EXPECT_TRUE(p.closed);
    const Played third = expect_client_transcript(through_tls(ehlo_tls_login) + std::vector<Step>{
        C("AUTH LOGIN\n"), S("334 VXNlcm5hbWU6\n"), C(login_username + "\n"),
        S("334 UGFzc3dvcmQ6\n"), C(login_password + "\n"), S("334 more?\n"), C(""),
    }, auth_options());
    EXPECT_EQ(third.failed, std::vector<std::string>{"421 4.5.0 protocol error: 334 when the AUTH exchange was complete (local)"});
    const Played other = expect_client_transcript(through_tls(ehlo_tls_plain) + std::vector<Step>{
        C("AUTH PLAIN " + plain_response + "\n"), S("354 what\n"), C(""),
    }, auth_options());
    EXPECT_EQ(other.failed, std::vector<std::string>{"421 4.5.0 protocol error: unexpected 3xx reply to AUTH (local)"});
}

TEST(SmtpClientAuth, UnusableCredentialIsNotSent) {
    ClientOptions o = auth_options();
    const std::uint8_t with_nul[] = {'a', 0, 'b'};
    o.auth->password = crypto::SecretBytes::copy_of(with_nul);
    const Played p = expect_client_transcript(through_tls(ehlo_tls_plain) + std::vector<Step>{C("QUIT\n")}, o);
    EXPECT_EQ(p.failed,
              std::vector<std::string>{"454 4.7.0 the AUTH credential is unusable (an empty user name or a NUL byte) (local)"});
}

TEST(SmtpClientAuth, OptionsCopyTheCredential) {
    const ClientOptions a = auth_options();
    const ClientOptions b = a;  // a copy per connection
    ASSERT_TRUE(b.auth.has_value());
    EXPECT_EQ(b.auth->username, a.auth->username);
    EXPECT_TRUE(b.auth->password.constant_time_equal(a.auth->password.view()));
    EXPECT_NE(b.auth->password.view().data(), a.auth->password.view().data());
}

}  // namespace
}  // namespace vmx::smtp::client_test
