// Fuzz target: the SMTP engine in submission mode (465 and 587). The input's first 8 bytes seed the
// simulated caller (chunk sizes; login verdicts; stored messages; TLS; logouts and drains); the
// rest is the client's byte stream. Checks: replies are whole CRLF lines with a 3-digit code; the
// caller never holds more than a line; a login request has a valid name and a non-empty secret and
// comes only under TLS; no message is handed over before a login succeeded, and every handed-over
// message has a sender the login may use and no bare CR or LF.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "net/smtp/session.h"
#include "tests/fuzz/smtp_fuzz_checks.h"
#include "tests/fuzz/seeded_input.h"

namespace {

using namespace vmx::smtp;
using vmx::smtp::fuzz::check_message;
using vmx::smtp::fuzz::check_replies;

class Policy final : public RecipientPolicy {
public:
    RcptDecision check(const Address& a) override {
        VMX_ASSERT(!a.text.empty() && a.text.find_first_of("\r\n") == std::string_view::npos);
        return {static_cast<RcptVerdict>(a.text.size() % 5), a.text.size() % 3};
    }
};

// The login may send as a@b.c and x@y.z only.
class Senders final : public SenderPolicy {
public:
    bool may_send_as(std::string_view address) override { return address == "a@b.c" || address == "x@y.z"; }
};

// The sender is one the login may use; the rest as for the MX.
void check_submitted(const Envelope& m, const Limits& limits) {
    VMX_ASSERT(m.mail_from == "a@b.c" || m.mail_from == "x@y.z");
    check_message(m, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto [rng, stream] = vmx::fuzz::seeded_input(data, size);

    Limits limits = vmx::smtp::fuzz::small_limits();
    limits.auth_failures_max = 1 + static_cast<std::uint32_t>(rng() % 4);
    limits.username_bytes_max = 32;
    limits.secret_bytes_max = 32;
    Options options;
    options.hostname = "mx.example.net";
    options.mode = Mode::submission;
    const bool implicit = rng() % 2 == 0;
    options.transport = implicit ? Transport::tls : Transport::plain;
    options.starttls = implicit ? StartTls::unavailable : StartTls::required;
    Policy policy;
    Senders senders;
    Session session(limits, options, policy, &senders);
    Effects fx;
    session.greet(fx);
    std::string held;
    std::size_t pos = 0;
    while (pos < stream.size() && !session.closed()) {
        const std::size_t n = 1 + rng() % 64;
        held.append(stream.substr(pos, n));
        pos += n;
        vmx::smtp::fuzz::feed_held(session, held, fx);
        VMX_ASSERT(session.awaiting_store() || fx.auth || held.size() < limits.line_bytes_max + 64);
        if (fx.message_ready) {
            VMX_ASSERT(session.authenticated());
            check_submitted(*fx.message_ready, limits);
        }
        fx.message_ready.reset();
        const unsigned event = static_cast<unsigned>(rng() % 16);
        if (fx.auth) {
            VMX_ASSERT(session.tls_active() && !fx.auth->username.empty() && fx.auth->secret.size() > 0);
            VMX_ASSERT(fx.auth->username.size() <= limits.username_bytes_max);
            fx.auth.reset();
            session.on_auth_result(static_cast<AuthOutcome>(rng() % 5), fx);
        }
        if (event == 0 || fx.start_tls) session.on_tls_started(fx);
        if (event <= 3) session.on_stored(static_cast<StoreOutcome>(rng() % 4), fx, "Q");
        if (event == 4 && rng() % 8 == 0) session.on_end(static_cast<EndReason>(rng() % 3), fx);
        fx.start_tls = false;
        check_replies(fx.replies);
        fx.replies.clear();
    }
    session.on_timeout(fx);
    check_replies(fx.replies);
    return 0;
}
