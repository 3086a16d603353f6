// SMTP engine transcripts with recipient verdicts that arrive later (a store shared by nodes looks
// recipients up off the shard): nothing is read while a verdict is awaited, pipelined commands are
// answered in order after it, and drains, timeouts and late answers behave as for a store's answer.
// Each played in one block and one byte at a time (transcript.h).
#include <gtest/gtest.h>

#include "tests/net/smtp/transcript.h"

namespace vmx::smtp::test {
namespace {

Outcome deferred(const std::vector<Step>& steps, const Limits& limits = test_limits()) {
    return expect_transcript(steps, limits, test_options(), Verdicts::deferred);
}

TEST(SmtpRcptWait, PipelinedCommandsWaitForEachVerdict) {
    const Outcome o = deferred({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nRCPT TO:<c@example.org>\nDATA\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        checked(), S("250 2.1.5 Ok\n"),
        checked(), S("250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n"),
        C("hi\n.\nQUIT\n"), S(""),
        stored(), S("250 2.0.0 Ok: queued as Q1\n221 2.0.0 Bye\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    ASSERT_EQ(o.messages[0].recipients.size(), 2u);
    EXPECT_EQ(o.messages[0].recipients[0].address, "b@example.org");
    EXPECT_EQ(o.messages[0].recipients[0].user_id, 1001u);
    EXPECT_EQ(o.messages[0].recipients[1].user_id, 1002u);
    EXPECT_EQ(o.policy_calls, (std::vector<std::string>{"b@example.org", "c@example.org"}));
    EXPECT_TRUE(o.closed);
}

TEST(SmtpRcptWait, DeferredVerdictsReadAsImmediateOnes) {
    const Outcome o = deferred({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\n"), S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        C("RCPT TO:<nobody@example.org>\nRCPT TO:<x@elsewhere.example>\nRCPT TO:<full@example.org>\n"
          "RCPT TO:<tmp@example.org>\nDATA\n"),
        S(""), checked(), S("550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\n"),
        checked(), S("550 5.7.1 <x@elsewhere.example>: Relay access denied\n"),
        checked(), S("452 4.2.2 <full@example.org>: Mailbox full\n"),
        checked(), S("451 4.3.0 <tmp@example.org>: Temporary lookup failure\n554 5.5.1 Error: no valid recipients\n"),
        C("RCPT TO:<Postmaster>\nRCPT TO:<bob@example.org>\nRCPT TO:<BOB@example.org>\n"), S(""),
        checked(), S("250 2.1.5 Ok\n"),
        checked(), S("250 2.1.5 Ok\n250 2.1.5 Ok\n"),  // the duplicate is answered without a look-up
        C("DATA\n.\n"), S("354 End data with <CR><LF>.<CR><LF>\n"), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    ASSERT_EQ(o.messages[0].recipients.size(), 2u);
    EXPECT_EQ(o.messages[0].recipients[0].address, "Postmaster");
    EXPECT_EQ(o.policy_calls.size(), 6u);
}

TEST(SmtpRcptWait, RecipientLimitAndRsetAfterAWait) {
    Limits limits = test_limits();
    limits.recipients_max = 1;
    const Outcome o = deferred({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<>\nRCPT TO:<a@example.org>\nRCPT TO:<b@example.org>\nRSET\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        checked(), S("250 2.1.5 Ok\n452 4.5.3 Error: too many recipients\n250 2.0.0 Ok\n"),
        C("DATA\n"), S("503 5.5.1 Error: need MAIL command\n"),
    }, limits);
    EXPECT_EQ(o.policy_calls, (std::vector<std::string>{"a@example.org"}));
    EXPECT_TRUE(o.messages.empty());
}

TEST(SmtpRcptWait, ADrainWaitsForTheVerdictThenSays421) {
    const Outcome o = deferred({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        drain(), S(""),
        checked(), S("250 2.1.5 Ok\n421 4.3.2 mx.example.net Service shutting down\n"),
    });
    EXPECT_TRUE(o.messages.empty());
    EXPECT_TRUE(o.closed);
}

TEST(SmtpRcptWait, ATimeoutWhileWaitingClosesAndTheLateVerdictIsIgnored) {
    const Outcome o = deferred({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\nDATA\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        timeout(), S("421 4.4.2 mx.example.net Error: timeout exceeded\n"),
        checked(), S(""),
        C("DATA\n"), S(""),
    });
    EXPECT_TRUE(o.messages.empty());
    EXPECT_TRUE(o.closed);
}

TEST(SmtpRcptWait, ASecondPendingIsATemporaryFailure) {
    const Outcome o = deferred({
        S(greeting),
        C("EHLO c.example\nMAIL FROM:<a@example.com>\nRCPT TO:<b@example.org>\n"),
        S(ehlo_reply + "250 2.1.0 Ok\r\n"),
        checked(RcptDecision{RcptVerdict::pending, 0}), S("451 4.3.0 <b@example.org>: Temporary lookup failure\n"),
        checked(RcptDecision{RcptVerdict::accepted, 7}), S(""),  // nothing waits: ignored
        C("RCPT TO:<c@example.org>\n"), S(""),
        checked(RcptDecision{RcptVerdict::accepted, 7}), S("250 2.1.5 Ok\n"),
        C("DATA\n.\n"), S("354 End data with <CR><LF>.<CR><LF>\n"), stored(), S("250 2.0.0 Ok: queued as Q1\n"),
    });
    ASSERT_EQ(o.messages.size(), 1u);
    ASSERT_EQ(o.messages[0].recipients.size(), 1u);
    EXPECT_EQ(o.messages[0].recipients[0].address, "c@example.org");
    EXPECT_EQ(o.messages[0].recipients[0].user_id, 7u);
}

}  // namespace
}  // namespace vmx::smtp::test
