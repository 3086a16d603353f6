// Transcript harness for the SMTP engine: plays client bytes and caller events against a Session
// the way the connection adapter does (holding unconsumed bytes, dropping them after STARTTLS),
// once in one block per client step and once one byte at a time, and compares the replies
// exactly. Test-only; single thread.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "tests/net/smtp/crlf_text.h"
#include "net/smtp/session.h"

namespace vmx::smtp::test {

// A directory of one local domain, example.org: "full" is over quota, "tmp" fails temporarily,
// "nobody" does not exist, everyone else exists; every other domain is not local. `deferred`: each
// verdict waits in `waiting` (the check answers `pending`) until the transcript's checked() step.
class FakePolicy final : public RecipientPolicy {
public:
    RcptDecision check(const Address& a) override {
        const RcptDecision decision = decide(a);
        if (!deferred) return decision;
        waiting.push_back(decision);
        return {RcptVerdict::pending, 0};
    }
    RcptDecision decide(const Address& a) {
        calls.emplace_back(a.text);
        if (a.domain.empty()) return {RcptVerdict::accepted, 1};  // postmaster
        if (a.domain != "example.org" && a.domain != "bücher.example") return {RcptVerdict::not_local, 0};
        if (a.local_part == "nobody") return {RcptVerdict::unknown_user, 0};
        if (a.local_part == "full") return {RcptVerdict::over_quota, 0};
        if (a.local_part == "tmp") return {RcptVerdict::temp_failure, 0};
        return {RcptVerdict::accepted, 1000 + calls.size()};
    }
    std::vector<std::string> calls;
    bool deferred = false;
    std::deque<RcptDecision> waiting;
};

// Submission: alice@example.org may send as herself and as alias@example.org.
class FakeSenders final : public SenderPolicy {
public:
    bool may_send_as(std::string_view address) override {
        calls.emplace_back(address);
        return address == "alice@example.org" || address == "alias@example.org";
    }
    std::vector<std::string> calls;
};

enum class StepKind { client, server, tls, stored, failed, full, over_rate, outcome, timeout, drain, logout, auth, checked };

struct Step {
    StepKind kind;
    std::string text;
    AuthOutcome auth = AuthOutcome::ok;
    StoreOutcome outcome = StoreOutcome::stored;  // StepKind::outcome: the caller's answer to a message
    std::optional<RcptDecision> rcpt = std::nullopt;  // StepKind::checked: this verdict, else the policy's oldest waiting one
};

// crlf(): "\n" stands for CRLF in transcript text (crlf_text.h); raw() keeps bytes as written.
using transcript_text::crlf;
inline Step C(std::string_view s) { return {StepKind::client, crlf(s)}; }
inline Step raw(std::string s) { return {StepKind::client, std::move(s)}; }
inline Step S(std::string_view s) { return {StepKind::server, crlf(s)}; }
inline Step tls() { return {StepKind::tls, {}}; }
inline Step stored() { return {StepKind::stored, {}}; }
inline Step store_failed() { return {StepKind::failed, {}}; }
inline Step store_full() { return {StepKind::full, {}}; }
inline Step timeout() { return {StepKind::timeout, {}}; }
inline Step drain() { return {StepKind::drain, {}}; }
inline Step over_rate() { return {StepKind::over_rate, {}}; }
inline Step answered(StoreOutcome outcome) { return {StepKind::outcome, {}, AuthOutcome::ok, outcome}; }
inline Step logout() { return {StepKind::logout, {}}; }
inline Step auth(AuthOutcome outcome) { return {StepKind::auth, {}, outcome}; }
inline Step checked() { return {StepKind::checked, {}}; }
inline Step checked(RcptDecision decision) { return {StepKind::checked, {}, AuthOutcome::ok, StoreOutcome::stored, decision}; }

inline Limits test_limits() {
    Limits l;
    l.message_bytes_max = 10000;
    l.recipients_max = 5;
    l.errors_max = 10;
    return l;
}

// For transcripts that make many mistakes on purpose.
inline Limits lenient_limits() {
    Limits l = test_limits();
    l.errors_max = 100;
    return l;
}

inline Options test_options(StartTls starttls = StartTls::offered, Transport transport = Transport::plain) {
    Options o;
    o.hostname = "mx.example.net";
    o.starttls = starttls;
    o.transport = transport;
    return o;
}

inline const std::string greeting = "220 mx.example.net ESMTP\r\n";
inline const std::string ehlo_reply =
    "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
inline const std::string ehlo_reply_tls =
    "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

// Submission on 587 (STARTTLS required) or 465 (TLS from the start).
inline Options submission_options(Transport transport = Transport::plain) {
    Options o = test_options(transport == Transport::tls ? StartTls::unavailable : StartTls::required, transport);
    o.mode = Mode::submission;
    return o;
}
inline const std::string ehlo_submission_plain =
    "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";
inline const std::string ehlo_submission_tls =
    "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
    "250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n";

// A login as the engine hands it over (the secret copied out for the test's eyes only).
struct SeenAuth {
    std::string username;
    std::string secret;
    AuthMechanism mechanism = AuthMechanism::plain;
    friend bool operator==(const SeenAuth&, const SeenAuth&) = default;
};

enum class FeedMode { block, bytewise };

struct Outcome {
    std::vector<Envelope> messages;
    std::vector<SeenAuth> logins;
    std::vector<std::string> sender_calls;
    std::vector<std::string> policy_calls;
    std::size_t dropped_after_starttls = 0;
    std::size_t held_bytes_max = 0;  // the most the caller had to hold
    bool closed = false;
};

class Player {
public:
    Player(const Limits& limits, const Options& options)
        : limits_(limits), options_(options), session_(limits_, options_, policy_, &senders_) {}

    Outcome play(const std::vector<Step>& steps, FeedMode mode) {
        Effects fx;
        session_.greet(fx);
        collect(fx);
        for (std::size_t i = 0; i < steps.size(); ++i) step(steps[i], mode, fx, i);
        EXPECT_EQ(replies_, "") << "replies left unchecked at the end";
        outcome_.policy_calls = policy_.calls;
        outcome_.sender_calls = senders_.calls;
        return outcome_;
    }

    Session& session() { return session_; }
    void defer_recipients() { policy_.deferred = true; }
    std::size_t checks_waiting() const { return policy_.waiting.size(); }

private:
    void step(const Step& s, FeedMode mode, Effects& fx, std::size_t index) {
        switch (s.kind) {
            case StepKind::client: return client(s.text, mode, fx);
            case StepKind::server:
                EXPECT_EQ(replies_, s.text) << "at step " << index << (mode == FeedMode::block ? " (block)" : " (bytewise)");
                replies_.clear();
                return;
            case StepKind::tls: session_.on_tls_started(fx); break;
            case StepKind::stored: session_.on_stored(StoreOutcome::stored, fx, "Q1"); break;
            case StepKind::failed: session_.on_stored(StoreOutcome::failed, fx); break;
            case StepKind::full: session_.on_stored(StoreOutcome::full, fx); break;
            case StepKind::over_rate: session_.on_stored(StoreOutcome::over_rate, fx); break;
            case StepKind::outcome: session_.on_stored(s.outcome, fx); break;
            case StepKind::logout: session_.on_end(EndReason::logged_out, fx); break;
            case StepKind::auth: session_.on_auth_result(s.auth, fx); break;
            case StepKind::timeout: session_.on_timeout(fx); break;
            case StepKind::drain: session_.on_drain(fx); break;
            case StepKind::checked: checked(s, fx); break;
        }
        collect(fx);
        pump(fx);
    }

    void checked(const Step& s, Effects& fx) {
        // A verdict given by the step replaces the policy's oldest waiting one.
        RcptDecision decision{RcptVerdict::temp_failure, 0};
        if (!policy_.waiting.empty()) {
            decision = policy_.waiting.front();
            policy_.waiting.pop_front();
        } else if (!s.rcpt) {
            ADD_FAILURE() << "checked(): no recipient waits for a verdict";
        }
        session_.on_rcpt_checked(s.rcpt.value_or(decision), fx);
    }

    void client(const std::string& bytes, FeedMode mode, Effects& fx) {
        drop_rest_ = false;
        if (mode == FeedMode::block) {
            held_ += bytes;
            pump(fx);
            return;
        }
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            if (drop_rest_) {
                outcome_.dropped_after_starttls += bytes.size() - i;
                return;
            }
            held_ += bytes[i];
            pump(fx);
        }
    }

    // What the adapter does: feed while it makes progress, send the replies after each call.
    void pump(Effects& fx) {
        while (!held_.empty()) {
            outcome_.held_bytes_max = std::max(outcome_.held_bytes_max, held_.size());
            const std::size_t used = session_.feed(held_, fx);
            EXPECT_LE(used, held_.size());
            held_.erase(0, used);
            const bool start_tls = fx.start_tls;
            collect(fx);
            if (start_tls) {
                outcome_.dropped_after_starttls += held_.size();
                held_.clear();
                drop_rest_ = true;
            }
            if (used == 0) break;
        }
    }

    void collect(Effects& fx) {
        replies_ += fx.replies;
        fx.replies.clear();
        fx.start_tls = false;
        if (fx.message_ready) outcome_.messages.push_back(std::move(*fx.message_ready));
        fx.message_ready.reset();
        if (fx.auth) {
            const auto secret = fx.auth->secret.view();
            outcome_.logins.push_back({fx.auth->username, std::string(reinterpret_cast<const char*>(secret.data()), secret.size()),
                                       fx.auth->mechanism});
        }
        fx.auth.reset();
        if (fx.close) outcome_.closed = true;
    }

    const Limits limits_;    // the session refers to these: they live as long as it
    const Options options_;
    FakePolicy policy_;
    FakeSenders senders_;
    Session session_;
    std::string held_;
    std::string replies_;
    Outcome outcome_;
    bool drop_rest_ = false;
};

enum class Verdicts { at_once, deferred };

// Plays the transcript both ways; both must give the same replies and the same messages. Deferred:
// every recipient's verdict waits for a checked() step.
inline Outcome expect_transcript(const std::vector<Step>& steps, const Limits& limits = test_limits(),
                                 const Options& options = test_options(), Verdicts verdicts = Verdicts::at_once) {
    Player block(limits, options);
    Player bytewise(limits, options);
    if (verdicts == Verdicts::deferred) {
        block.defer_recipients();
        bytewise.defer_recipients();
    }
    Outcome a = block.play(steps, FeedMode::block);
    EXPECT_EQ(block.checks_waiting(), 0u) << "verdicts left waiting (block)";
    Outcome b = bytewise.play(steps, FeedMode::bytewise);
    EXPECT_EQ(bytewise.checks_waiting(), 0u) << "verdicts left waiting (bytewise)";
    EXPECT_EQ(a.messages.size(), b.messages.size());
    for (std::size_t i = 0; i < std::min(a.messages.size(), b.messages.size()); ++i) {
        EXPECT_EQ(a.messages[i].body, b.messages[i].body);
        EXPECT_EQ(a.messages[i].recipients, b.messages[i].recipients);
        EXPECT_EQ(a.messages[i].mail_from, b.messages[i].mail_from);
    }
    EXPECT_EQ(a.closed, b.closed);
    EXPECT_EQ(a.policy_calls, b.policy_calls);
    EXPECT_EQ(a.logins, b.logins);
    EXPECT_EQ(a.sender_calls, b.sender_calls);
    for (std::size_t i = 0; i < std::min(a.messages.size(), b.messages.size()); ++i) {
        EXPECT_EQ(a.messages[i].has_date, b.messages[i].has_date);
        EXPECT_EQ(a.messages[i].has_message_id, b.messages[i].has_message_id);
    }
    return a;
}

}  // namespace vmx::smtp::test
