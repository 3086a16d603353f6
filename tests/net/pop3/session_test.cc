// Transcript tests of the POP3 engine: every command and error, pre-STLS refusals, STLS input
// injection, AUTH PLAIN, asynchronous auth and maildrop, streamed RETR/TOP, UPDATE, and the
// caller's events. Each transcript runs twice: input fed in one block and one byte at a time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/pop3/session.h"
#include "tests/net/pop3/driver.h"

namespace vmx::pop3::test {
namespace {

constexpr std::string_view greeting = "+OK POP3 server ready\r\n";
const Transport implicit_tls{Tls::active, Stls::not_offered};
const Transport plain_with_stls{Tls::none, Stls::offered};

std::vector<MessageInfo> three_messages() {
    return {{101, 120, "uid-a"}, {102, 200, "uid-b"}, {103, 5, "uid-c"}};
}

class Pop3Session : public ::testing::TestWithParam<Feeding> {
protected:
    Driver make(Transport transport = implicit_tls, Limits limits = {}, Advertised advertised = {}) {
        Driver d(GetParam(), transport, limits, advertised);
        EXPECT_EQ(d.take(), greeting);
        return d;
    }
    // USER/PASS, ok, three messages.
    Driver logged_in(Limits limits = {}) {
        Driver d = make(implicit_tls, limits);
        d.send("USER bob\r\nPASS secret\r\n");
        EXPECT_TRUE(d.auth_request().has_value());
        d.auth(AuthOutcome::ok);
        d.maildrop(three_messages());
        EXPECT_EQ(d.take(), "+OK Send PASS\r\n+OK Logged in, 3 messages (325 octets)\r\n");
        return d;
    }
};

INSTANTIATE_TEST_SUITE_P(Feedings, Pop3Session, ::testing::Values(Feeding::block, Feeding::bytewise),
                         [](const ::testing::TestParamInfo<Feeding>& p) { return std::string(feeding_name(p.param)); });

// ---- CAPA and STLS -----------------------------------------------------------------------------

TEST_P(Pop3Session, CapaOnImplicitTls) {
    Driver d = make(implicit_tls, {}, Advertised{std::nullopt, 300});
    d.send("CAPA\r\n");
    EXPECT_EQ(d.take(),
              "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
              "USER\r\nSASL PLAIN\r\nEXPIRE NEVER\r\nLOGIN-DELAY 300\r\n.\r\n");
}

TEST_P(Pop3Session, CapaOnPlainBeforeStlsOffersNoLogin) {
    Driver d = make(plain_with_stls, {}, Advertised{14, std::nullopt});
    d.send("capa\r\n");
    EXPECT_EQ(d.take(),
              "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
              "STLS\r\nEXPIRE 14\r\n.\r\n");
}

TEST_P(Pop3Session, CapaInTransactionListsNoLoginMethods) {
    Driver d = logged_in();
    d.send("CAPA\r\n");
    EXPECT_EQ(d.take(),
              "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
              "EXPIRE NEVER\r\n.\r\n");
}

TEST_P(Pop3Session, LoginRefusedBeforeStls) {
    Driver d = make(plain_with_stls);
    d.send("USER bob\r\nPASS secret\r\nAUTH PLAIN AGJvYgBzZWNyZXQ=\r\nAUTH PLAIN\r\n");
    const std::string refusal = "-ERR [AUTH] TLS required, issue STLS first\r\n";
    EXPECT_EQ(d.take(), refusal + refusal + refusal + refusal);
    EXPECT_FALSE(d.auth_request().has_value());
    EXPECT_FALSE(d.closed_signal());
}

TEST_P(Pop3Session, LoginRefusedOnPlainWithoutStls) {
    Driver d = make(Transport{Tls::none, Stls::not_offered});
    d.send("USER bob\r\nSTLS\r\n");
    EXPECT_EQ(d.take(), "-ERR [AUTH] Login requires a TLS connection\r\n-ERR STLS not available\r\n");
}

TEST_P(Pop3Session, StlsDropsPipelinedInputAndResets) {
    Driver d = make(plain_with_stls);
    d.send("STLS\r\nUSER mallory\r\nPASS x\r\n");
    EXPECT_EQ(d.take(), "+OK Begin TLS negotiation\r\n");
    EXPECT_TRUE(d.start_tls_signal());
    EXPECT_EQ(d.session().awaiting(), Awaiting::tls_handshake);
    EXPECT_EQ(d.unread(), "USER mallory\r\nPASS x\r\n");  // not consumed: the adapter drops it
    d.tls_started();
    EXPECT_EQ(d.dropped(), "USER mallory\r\nPASS x\r\n");
    EXPECT_EQ(d.take(), "");  // no second greeting (RFC 2595)
    EXPECT_FALSE(d.auth_request().has_value());
    d.send("CAPA\r\nSTLS\r\nPASS x\r\nUSER bob\r\nPASS pw\r\n");
    EXPECT_EQ(d.take(),
              "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
              "USER\r\nSASL PLAIN\r\nEXPIRE NEVER\r\n.\r\n"
              "-ERR Already using TLS\r\n-ERR Send USER first\r\n+OK Send PASS\r\n");
    ASSERT_TRUE(d.auth_request().has_value());
    EXPECT_EQ(d.auth_request()->username, "bob");
}

TEST_P(Pop3Session, StlsErrors) {
    Driver d = make(implicit_tls);
    d.send("STLS\r\n");
    EXPECT_EQ(d.take(), "-ERR Already using TLS\r\n");
    Driver p = make(plain_with_stls);
    p.send("STLS now\r\n");
    EXPECT_EQ(p.take(), "-ERR STLS takes no arguments\r\n");
    Driver t = logged_in();
    t.send("STLS\r\n");
    EXPECT_EQ(t.take(), "-ERR Command not valid in this state\r\n");
}

TEST_P(Pop3Session, TlsStartedOnlyAfterStls) {
    Driver d = make(plain_with_stls);
    d.tls_started();  // a stray call changes nothing
    d.send("USER bob\r\n");
    EXPECT_EQ(d.take(), "-ERR [AUTH] TLS required, issue STLS first\r\n");
}

// ---- USER / PASS and the auth outcomes ---------------------------------------------------------

TEST_P(Pop3Session, UserPassEmitsRequestAndWaits) {
    Driver d = make();
    d.send("USER bob@example.org\r\nPASS two words \r\nSTAT\r\nLIST\r\n");
    EXPECT_EQ(d.take(), "+OK Send PASS\r\n");
    ASSERT_TRUE(d.auth_request().has_value());
    EXPECT_EQ(d.auth_request()->username, "bob@example.org");
    EXPECT_EQ(secret_text(d.auth_request()->secret), "two words ");  // the rest of the line, spaces kept
    EXPECT_EQ(d.auth_request()->method, AuthMethod::user_pass);
    EXPECT_EQ(d.session().awaiting(), Awaiting::auth_result);
    EXPECT_EQ(d.unread(), "STAT\r\nLIST\r\n");  // pipelined commands wait
    d.auth(AuthOutcome::ok);
    EXPECT_EQ(d.take(), "");
    EXPECT_EQ(d.session().awaiting(), Awaiting::maildrop);
    d.maildrop(three_messages());
    EXPECT_EQ(d.take(),
              "+OK Logged in, 3 messages (325 octets)\r\n+OK 3 325\r\n"
              "+OK 3 messages (325 octets)\r\n1 120\r\n2 200\r\n3 5\r\n.\r\n");
}

TEST_P(Pop3Session, PassWithoutUser) {
    Driver d = make();
    d.send("PASS secret\r\nUSER\r\nUSER a b\r\nUSER bob\r\nPASS\r\n");
    EXPECT_EQ(d.take(),
              "-ERR Send USER first\r\n-ERR Syntax: USER name\r\n-ERR Syntax: USER name\r\n+OK Send PASS\r\n"
              "-ERR Syntax: PASS password\r\n");
    EXPECT_FALSE(d.auth_request().has_value());
}

TEST_P(Pop3Session, AuthOutcomes) {
    struct Case {
        AuthOutcome outcome;
        std::string reply;
    };
    const std::vector<Case> cases = {
        {AuthOutcome::bad_credentials, "-ERR [AUTH] Authentication failed\r\n"},
        {AuthOutcome::in_use, "-ERR [IN-USE] Mailbox in use by another session\r\n"},
        {AuthOutcome::temp_failure, "-ERR [SYS/TEMP] Temporary failure, try again later\r\n"},
        {AuthOutcome::disabled, "-ERR [SYS/PERM] Account disabled, contact your administrator\r\n"},
        {AuthOutcome::policy_denied, "-ERR [AUTH] Login not allowed by policy\r\n"},
    };
    for (const auto& c : cases) {
        Driver d = make();
        d.send("USER bob\r\nPASS pw\r\nNOOP\r\n");
        d.auth(c.outcome);
        // Back in AUTHORIZATION: the pipelined NOOP is answered as a command of the wrong state.
        EXPECT_EQ(d.take(), "+OK Send PASS\r\n" + c.reply + "-ERR Command not valid in this state\r\n");
        EXPECT_FALSE(d.closed_signal());
        EXPECT_EQ(d.session().awaiting(), Awaiting::input);
    }
}

TEST_P(Pop3Session, SecondSessionGetsInUse) {
    Driver first = logged_in();
    Driver second = make();
    second.send("USER bob\r\nPASS secret\r\n");
    second.auth(AuthOutcome::in_use);  // the caller's maildrop lock is held by `first`
    EXPECT_EQ(second.take(), "+OK Send PASS\r\n-ERR [IN-USE] Mailbox in use by another session\r\n");
    first.send("STAT\r\n");
    EXPECT_EQ(first.take(), "+OK 3 325\r\n");
}

TEST_P(Pop3Session, AuthFailuresCloseAtLimit) {
    Driver d = make();
    for (int i = 0; i < 3; ++i) {
        d.send("USER bob\r\nPASS wrong\r\n");
        d.auth(AuthOutcome::bad_credentials);
    }
    EXPECT_TRUE(d.closed_signal());
    EXPECT_EQ(d.session().awaiting(), Awaiting::nothing);
    d.send("USER bob\r\n");  // nothing more is read
    EXPECT_EQ(d.unread(), "USER bob\r\n");
}

TEST_P(Pop3Session, MaildropFailureAndBadUidl) {
    Driver d = make();
    d.send("USER bob\r\nPASS pw\r\n");
    d.auth(AuthOutcome::ok);
    d.maildrop({{1, 10, "has space"}});
    EXPECT_EQ(d.take(), "+OK Send PASS\r\n-ERR [SYS/TEMP] Mailbox unavailable, try again later\r\n");
    d.send("STAT\r\n");
    EXPECT_EQ(d.take(), "-ERR Command not valid in this state\r\n");
}

TEST_P(Pop3Session, MaildropCappedAtLimit) {
    Limits limits;
    limits.messages_max = 2;
    Driver d = make(implicit_tls, limits);
    d.send("USER bob\r\nPASS pw\r\n");
    d.auth(AuthOutcome::ok);
    d.maildrop(three_messages());
    EXPECT_EQ(d.take(), "+OK Send PASS\r\n+OK Logged in, 2 messages (320 octets)\r\n");
}

// ---- AUTH PLAIN (RFC 5034) ---------------------------------------------------------------------

TEST_P(Pop3Session, AuthPlainInitialResponse) {
    Driver d = make();
    d.send("AUTH PLAIN AGJvYgBzZWNyZXQ=\r\n");  // "\0bob\0secret"
    ASSERT_TRUE(d.auth_request().has_value());
    EXPECT_EQ(d.auth_request()->username, "bob");
    EXPECT_EQ(secret_text(d.auth_request()->secret), "secret");
    EXPECT_EQ(d.auth_request()->method, AuthMethod::sasl_plain);
    d.auth(AuthOutcome::ok);
    d.maildrop({});
    EXPECT_EQ(d.take(), "+OK Logged in, 0 messages (0 octets)\r\n");
}

TEST_P(Pop3Session, AuthPlainWithContinuationAndSameAuthzid) {
    Driver d = make();
    d.send("auth plain\r\nYm9iAGJvYgBzZWNyZXQ=\r\n");  // "bob\0bob\0secret"
    EXPECT_EQ(d.take(), "+ \r\n");
    ASSERT_TRUE(d.auth_request().has_value());
    EXPECT_EQ(d.auth_request()->username, "bob");
}

TEST_P(Pop3Session, AuthPlainCancelAndMechanisms) {
    Driver d = make();
    d.send("AUTH PLAIN\r\n*\r\nAUTH\r\nAUTH LOGIN\r\nAUTH PLAIN a b c\r\n");
    EXPECT_EQ(d.take(),
              "+ \r\n-ERR Authentication cancelled\r\n+OK\r\nPLAIN\r\n.\r\n"
              "-ERR Unsupported authentication mechanism\r\n-ERR Syntax: AUTH mechanism [initial-response]\r\n");
    EXPECT_FALSE(d.auth_request().has_value());
}

TEST_P(Pop3Session, AuthPlainRejectsOtherAuthzid) {
    Driver d = make();
    d.send("AUTH PLAIN YWRtaW4AYm9iAHNlY3JldA==\r\n");  // "admin\0bob\0secret"
    EXPECT_EQ(d.take(), "-ERR [AUTH] Authorization identity not allowed\r\n");
    EXPECT_FALSE(d.auth_request().has_value());
}

TEST_P(Pop3Session, AuthPlainMalformed) {
    const std::vector<std::string> bad_base64 = {
        "AUTH PLAIN AGJvYgBzZWNyZXQ\r\n",    // no padding
        "AUTH PLAIN AGJv!gBzZWNyZXQ=\r\n",   // outside the alphabet
        "AUTH PLAIN AGJvYgBzZWNyZXR=\r\n",   // non-canonical last character
        "AUTH PLAIN A===\r\n",               // too much padding
        "AUTH PLAIN AG=vYgBzZWNyZXQ=\r\n",   // padding inside
        "AUTH PLAIN =\r\n",                  // empty initial response
    };
    for (const auto& line : bad_base64) {
        Driver d = make();
        d.send(line);
        EXPECT_EQ(d.take(), "-ERR Invalid base64 data\r\n") << line;
    }
    const std::vector<std::string> bad_plain = {
        "AUTH PLAIN Ym9ic2VjcmV0\r\n",        // "bobsecret": no NUL
        "AUTH PLAIN AGJvYg==\r\n",            // "\0bob": no password
        "AUTH PLAIN AAB4\r\n",                // "\0\0x": empty authcid
        "AUTH PLAIN AGJvYgB4AHk=\r\n",        // "\0bob\0x\0y": three NULs
        "AUTH PLAIN AGJvG2IAeA==\r\n",        // "\0bo\x1b" "b\0x": control character in the name
    };
    for (const auto& line : bad_plain) {
        Driver d = make();
        d.send(line);
        EXPECT_EQ(d.take(), "-ERR Malformed PLAIN credentials\r\n") << line;
    }
    Driver c = make();
    c.send("AUTH PLAIN\r\nnot base64\r\n");
    EXPECT_EQ(c.take(), "+ \r\n-ERR Invalid base64 data\r\n");
}

// ---- Errors ------------------------------------------------------------------------------------

TEST_P(Pop3Session, UnknownWrongStateAndNoReflection) {
    Driver d = make();
    d.send("HELO\r\nSTAT\r\nRETR 1\r\n\r\nXTND\x1b[31m\r\nLIST\tx\r\n");
    const std::string out = d.take();
    EXPECT_EQ(out,
              "-ERR Unknown command\r\n-ERR Command not valid in this state\r\n-ERR Command not valid in this state\r\n"
              "-ERR Unknown command\r\n-ERR Invalid characters in command\r\n-ERR Invalid characters in command\r\n");
}

TEST_P(Pop3Session, LineTooLongIsDroppedAndAnsweredOnce) {
    Driver d = make();
    d.send("NOOP " + std::string(5000, 'x') + "\r\nCAPA x\r\n");
    EXPECT_EQ(d.take(), "-ERR Line too long\r\n-ERR CAPA takes no arguments\r\n");
    // An AUTH line may be longer than a command line, up to its own limit.
    d.send("AUTH PLAIN " + std::string(1200, 'A') + "\r\n");
    EXPECT_EQ(d.take(), "-ERR Malformed PLAIN credentials\r\n");
}

TEST_P(Pop3Session, LineLimitCountsCrlf) {
    Limits limits;
    limits.command_line_bytes_max = 12;
    Driver d = make(implicit_tls, limits);
    d.send("NOOP 56789\r\nNOOP 567890\r\nNOOP 567890\n");  // 12, 13 and 12 octets with their line ends
    EXPECT_EQ(d.take(), "-ERR Command not valid in this state\r\n-ERR Line too long\r\n-ERR Command not valid in this state\r\n");
}

TEST_P(Pop3Session, TooManyErrorsClose) {
    Limits limits;
    limits.errors_max = 3;
    Driver d = make(implicit_tls, limits);
    d.send("A\r\nB\r\nC\r\nD\r\n");
    EXPECT_EQ(d.take(), "-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Too many errors, closing connection\r\n");
    EXPECT_TRUE(d.closed_signal());
    EXPECT_EQ(d.unread(), "D\r\n");
}

TEST_P(Pop3Session, BareLfAndLowerCase) {
    Driver d = make();
    d.send("noop\nquit\n");
    EXPECT_EQ(d.take(), "-ERR Command not valid in this state\r\n+OK Bye\r\n");
    EXPECT_TRUE(d.closed_signal());
}

TEST_P(Pop3Session, OutputLimitPausesInput) {
    Limits limits;
    limits.reply_bytes_soft_max = 100;
    Driver d = logged_in(limits);
    std::string many;
    for (int i = 0; i < 20; ++i) many += "LIST\r\n";
    d.send(many);  // the driver re-feeds after each batch, as the adapter does after sending
    std::string expected;
    for (int i = 0; i < 20; ++i) expected += "+OK 3 messages (325 octets)\r\n1 120\r\n2 200\r\n3 5\r\n.\r\n";
    EXPECT_EQ(d.take(), expected);
    EXPECT_GT(d.effect_calls_with_output(), 5);
}

// ---- TRANSACTION -------------------------------------------------------------------------------

TEST_P(Pop3Session, StatListUidl) {
    Driver d = logged_in();
    d.send("STAT\r\nLIST 2\r\nUIDL\r\nUIDL 3\r\nLIST 0\r\nLIST 4\r\nLIST -1\r\nLIST +1\r\nLIST 1x\r\nLIST 1 2\r\n"
           "UIDL 99999999999\r\nSTAT x\r\nLIST  1 \r\n");
    EXPECT_EQ(d.take(),
              "+OK 3 325\r\n+OK 2 200\r\n+OK 3 messages (325 octets)\r\n1 uid-a\r\n2 uid-b\r\n3 uid-c\r\n.\r\n"
              "+OK 3 uid-c\r\n-ERR No such message\r\n-ERR No such message\r\n-ERR No such message\r\n"
              "-ERR No such message\r\n-ERR No such message\r\n-ERR Syntax: LIST or UIDL [message]\r\n"
              "-ERR No such message\r\n-ERR STAT takes no arguments\r\n+OK 1 120\r\n");
}

TEST_P(Pop3Session, LongListingGoesOutInBatches) {
    Limits limits;
    limits.reply_bytes_soft_max = 64;
    Driver d = make(implicit_tls, limits);
    std::vector<MessageInfo> many;
    std::string sizes = "+OK 50 messages (5000 octets)\r\n";
    std::string uidls = "+OK 50 messages (5000 octets)\r\n";
    for (std::uint64_t i = 1; i <= 50; ++i) {
        many.push_back({i, 100, "u" + std::to_string(i)});
        sizes += std::to_string(i) + " 100\r\n";
        uidls += std::to_string(i) + " u" + std::to_string(i) + "\r\n";
    }
    d.send("USER bob\r\nPASS pw\r\n");
    d.auth(AuthOutcome::ok);
    d.maildrop(std::move(many));
    d.take();
    d.send("LIST\r\nUIDL\r\nNOOP\r\n");
    EXPECT_EQ(d.take(), sizes + ".\r\n" + uidls + ".\r\n+OK\r\n");
    EXPECT_GT(d.writable_calls(), 10);

    d.hold_writable(true);
    d.send("LIST\r\nSTAT\r\n");
    EXPECT_EQ(d.session().awaiting(), Awaiting::writable);
    EXPECT_EQ(d.unread(), "STAT\r\n");  // no command is read while a listing is under way
    d.drain();
    EXPECT_FALSE(d.closed_signal());
    d.hold_writable(false);
    EXPECT_EQ(d.take(), sizes + ".\r\n-ERR [SYS/TEMP] Server shutting down, try again later\r\n");
    EXPECT_TRUE(d.closed_signal());
}

TEST_P(Pop3Session, LogoutDuringListingCutsItShort) {
    Limits limits;
    limits.reply_bytes_soft_max = 16;
    Driver d = logged_in(limits);
    d.hold_writable(true);
    d.send("UIDL\r\n");
    EXPECT_EQ(d.take(), "+OK 3 messages (325 octets)\r\n");
    d.logout(LogoutReason::admin);
    EXPECT_EQ(d.take(), "");
    EXPECT_TRUE(d.closed_signal());
}

TEST_P(Pop3Session, DeleTwiceRsetNoop) {
    Driver d = logged_in();
    d.send("DELE 2\r\nDELE 2\r\nLIST 2\r\nRETR 2\r\nSTAT\r\nLIST\r\nUIDL\r\nRSET\r\nSTAT\r\nNOOP\r\nDELE\r\n");
    EXPECT_EQ(d.take(),
              "+OK Message 2 deleted\r\n-ERR Message already deleted\r\n-ERR Message already deleted\r\n"
              "-ERR Message already deleted\r\n+OK 2 125\r\n+OK 2 messages (125 octets)\r\n1 120\r\n3 5\r\n.\r\n"
              "+OK 2 messages (125 octets)\r\n1 uid-a\r\n3 uid-c\r\n.\r\n+OK 3 messages (325 octets)\r\n"
              "+OK 3 325\r\n+OK\r\n-ERR Syntax: DELE message\r\n");
}

TEST_P(Pop3Session, AuthorizationCommandsRefusedInTransaction) {
    Driver d = logged_in();
    d.send("USER bob\r\nPASS x\r\nAUTH PLAIN\r\n");
    const std::string refusal = "-ERR Command not valid in this state\r\n";
    EXPECT_EQ(d.take(), refusal + refusal + refusal);
}

TEST_P(Pop3Session, RetrStreamsWithStuffingAcrossChunks) {
    Driver d = logged_in();
    d.send("RETR 1\r\nSTAT\r\n");
    ASSERT_TRUE(d.body_request().has_value());
    EXPECT_EQ(d.body_request()->message_id, 101u);
    EXPECT_FALSE(d.body_request()->top_body_lines.has_value());
    EXPECT_EQ(d.take(), "");  // +OK waits for the first body byte
    EXPECT_EQ(d.unread(), "STAT\r\n");
    d.chunk("Subject: x\r");
    d.chunk("\n\r\n.");
    d.chunk("hidden\r\n..\r\nend\n");
    d.chunk(".");
    d.body_end();
    EXPECT_EQ(d.take(), "+OK 120 octets\r\nSubject: x\r\n\r\n..hidden\r\n...\r\nend\r\n..\r\n.\r\n+OK 3 325\r\n");
}

TEST_P(Pop3Session, RetrOnlyDotAndEmptyBody) {
    Driver d = logged_in();
    d.send("RETR 3\r\n");
    d.chunk(".");
    d.body_end();
    EXPECT_EQ(d.take(), "+OK 5 octets\r\n..\r\n.\r\n");
    d.send("RETR 2\r\n");
    d.body_end();
    EXPECT_EQ(d.take(), "+OK 200 octets\r\n.\r\n");
}

TEST_P(Pop3Session, TopZeroAndMoreLinesThanBody) {
    Driver d = logged_in();
    d.send("TOP 1 0\r\n");
    ASSERT_TRUE(d.body_request().has_value());
    EXPECT_EQ(d.body_request()->top_body_lines, std::optional<std::uint64_t>(0));
    d.chunk("A: 1\r\nB: 2\r\n\r\nbody 1\r\nbody 2\r\n");
    EXPECT_TRUE(d.body_enough());
    d.chunk("ignored\r\n");
    d.body_end();
    EXPECT_EQ(d.take(), "+OK Top of message follows\r\nA: 1\r\nB: 2\r\n\r\n.\r\n");
    d.send("TOP 1 99\r\n");
    d.chunk("A: 1\n\n.x\nlast");
    EXPECT_FALSE(d.body_enough());
    d.body_end();
    EXPECT_EQ(d.take(), "+OK Top of message follows\r\nA: 1\r\n\r\n..x\r\nlast\r\n.\r\n");
    d.send("TOP 1\r\nTOP 1 x\r\nTOP 9 1\r\nTOP 1 1\r\n");
    d.chunk("A: 1\r\n\r\none\r\ntwo\r\n");
    d.body_end();
    EXPECT_EQ(d.take(),
              "-ERR Syntax: TOP message lines\r\n-ERR Invalid line count\r\n-ERR No such message\r\n"
              "+OK Top of message follows\r\nA: 1\r\n\r\none\r\n.\r\n");
}

TEST_P(Pop3Session, BodyFailure) {
    Driver d = logged_in();
    d.send("RETR 1\r\n");
    d.body_failed();  // nothing sent yet: a clean error, the session goes on
    EXPECT_EQ(d.take(), "-ERR [SYS/TEMP] Message temporarily unavailable\r\n");
    EXPECT_FALSE(d.closed_signal());
    d.send("RETR 1\r\n");
    d.chunk("partial");
    d.body_failed();  // mid-response: cut short, no terminator, closed
    EXPECT_EQ(d.take(), "+OK 120 octets\r\npartial");
    EXPECT_TRUE(d.closed_signal());
}

// ---- QUIT, UPDATE and the caller's events -----------------------------------------------------

TEST_P(Pop3Session, QuitInAuthorization) {
    Driver d = make();
    d.send("QUIT\r\nNOOP\r\n");
    EXPECT_EQ(d.take(), "+OK Bye\r\n");
    EXPECT_TRUE(d.closed_signal());
}

TEST_P(Pop3Session, QuitWithoutDeleDeletesNothing) {
    Driver d = logged_in();
    d.send("DELE 1\r\nRSET\r\nQUIT\r\n");
    EXPECT_EQ(d.take(), "+OK Message 1 deleted\r\n+OK 3 messages (325 octets)\r\n+OK Bye\r\n");
    EXPECT_TRUE(d.expunge().empty());
    EXPECT_TRUE(d.closed_signal());
}

TEST_P(Pop3Session, QuitMovesMarkedToTrash) {
    Driver d = logged_in();
    d.send("DELE 3\r\nDELE 1\r\nQUIT\r\n");
    EXPECT_EQ(d.take(), "+OK Message 3 deleted\r\n+OK Message 1 deleted\r\n");
    EXPECT_EQ(d.expunge(), (std::vector<std::uint64_t>{101, 103}));
    EXPECT_EQ(d.session().awaiting(), Awaiting::update);
    d.update_done(UpdateResult::ok);
    EXPECT_EQ(d.take(), "+OK Bye, deleted messages moved to trash\r\n");
    EXPECT_TRUE(d.closed_signal());

    Driver f = logged_in();
    f.send("DELE 2\r\nQUIT\r\n");
    f.update_done(UpdateResult::failed);
    EXPECT_EQ(f.take(), "+OK Message 2 deleted\r\n-ERR [SYS/TEMP] Deleted messages could not be removed\r\n");
    EXPECT_TRUE(f.closed_signal());
}

TEST_P(Pop3Session, DroppedConnectionDeletesNothing) {
    Driver d = logged_in();
    d.send("DELE 1\r\nDELE 2\r\n");
    d.take();
    d.session().on_close();
    d.send("QUIT\r\n");
    d.update_done(UpdateResult::ok);
    d.timeout();
    d.drain();
    EXPECT_EQ(d.take(), "");
    EXPECT_TRUE(d.expunge().empty());
    EXPECT_FALSE(d.closed_signal());  // the caller closed; the session asks for nothing
}

TEST_P(Pop3Session, TimeoutClosesSilently) {
    Driver d = logged_in();
    d.send("DELE 1\r\n");
    d.take();
    d.timeout();
    EXPECT_EQ(d.take(), "");
    EXPECT_TRUE(d.closed_signal());
    EXPECT_TRUE(d.expunge().empty());
}

TEST_P(Pop3Session, DrainIdleAndDuringBody) {
    Driver idle = logged_in();
    idle.drain();
    EXPECT_EQ(idle.take(), "-ERR [SYS/TEMP] Server shutting down, try again later\r\n");
    EXPECT_TRUE(idle.closed_signal());

    Driver busy = logged_in();
    busy.send("RETR 3\r\nSTAT\r\n");
    busy.drain();
    EXPECT_FALSE(busy.closed_signal());
    busy.chunk("hi\r\n");
    busy.body_end();  // the response in flight completes, then the session ends
    EXPECT_EQ(busy.take(), "+OK 5 octets\r\nhi\r\n.\r\n-ERR [SYS/TEMP] Server shutting down, try again later\r\n");
    EXPECT_TRUE(busy.closed_signal());

    Driver auth = make();
    auth.send("USER bob\r\nPASS x\r\n");
    auth.drain();
    auth.auth(AuthOutcome::ok);
    EXPECT_EQ(auth.take(), "+OK Send PASS\r\n-ERR [SYS/TEMP] Server shutting down, try again later\r\n");
    EXPECT_TRUE(auth.closed_signal());
}

TEST_P(Pop3Session, LogoutEndsWithoutUpdate) {
    Driver d = logged_in();
    d.send("DELE 1\r\n");
    d.take();
    d.logout(LogoutReason::admin);
    EXPECT_EQ(d.take(), "-ERR [SYS/PERM] Session ended by the administrator\r\n");
    EXPECT_TRUE(d.closed_signal());
    EXPECT_TRUE(d.expunge().empty());

    Driver s = logged_in();
    s.logout(LogoutReason::session_limit);
    EXPECT_EQ(s.take(), "-ERR [SYS/TEMP] Session time limit reached\r\n");

    Driver b = logged_in();
    b.send("RETR 1\r\n");
    b.chunk("From: a\r\n");
    b.logout(LogoutReason::admin);  // mid-body: cut short, nothing appended to the message
    EXPECT_EQ(b.take(), "+OK 120 octets\r\nFrom: a\r\n");
    EXPECT_TRUE(b.closed_signal());
    b.chunk("more");
    b.body_end();
    EXPECT_EQ(b.take(), "");
}

TEST_P(Pop3Session, StrayCallbacksAreIgnored) {
    Driver d = make();
    d.auth(AuthOutcome::ok);
    d.maildrop(three_messages());
    d.chunk("x");
    d.body_end();
    d.body_failed();
    d.update_done(UpdateResult::ok);
    EXPECT_EQ(d.take(), "");
    d.send("STAT\r\n");
    EXPECT_EQ(d.take(), "-ERR Command not valid in this state\r\n");
}

}  // namespace
}  // namespace vmx::pop3::test
