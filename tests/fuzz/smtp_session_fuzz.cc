// Fuzz target: the SMTP engine. The input's first 8 bytes seed the choices of the simulated
// caller (chunk sizes; when to report a stored message, a recipient's later verdict, a finished
// TLS handshake, a drain); the rest is the client's byte stream. Checks: replies are whole CRLF
// lines that start with a 3-digit code, the caller never has to hold more than a line (but while a
// message or a recipient is with it), and a handed-over message keeps
// every limit and has no bare CR or LF.
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
        if (a.local_part.find_first_of("%!\"") != std::string_view::npos) VMX_ASSERT(false);  // tricks never get here
        const auto verdict = static_cast<RcptVerdict>(a.text.size() % 8);  // `pending` among them
        return {verdict, a.text.size()};
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto [rng, stream] = vmx::fuzz::seeded_input(data, size);

    Limits limits = vmx::smtp::fuzz::small_limits();
    Options options;
    options.hostname = "mx.example.net";
    options.starttls = static_cast<StartTls>(rng() % 3);
    Policy policy;
    Session session(limits, options, policy);
    Effects fx;
    session.greet(fx);
    std::string held;
    std::size_t pos = 0;
    while (pos < stream.size() && !session.closed()) {
        const std::size_t n = 1 + rng() % 64;
        held.append(stream.substr(pos, n));
        pos += n;
        vmx::smtp::fuzz::feed_held(session, held, fx);
        // Whatever is left is one incomplete line, or input waiting for on_stored().
        VMX_ASSERT(session.awaiting_store() || session.awaiting_recipient() || held.size() < limits.line_bytes_max + 64);
        if (fx.message_ready) check_message(*fx.message_ready, limits);
        fx.message_ready.reset();
        const unsigned event = static_cast<unsigned>(rng() % 16);
        if (event == 0 || fx.start_tls) session.on_tls_started(fx);
        if (event <= 3) session.on_stored(static_cast<StoreOutcome>(rng() % 3), fx, "Q");
        if (event == 4 && rng() % 8 == 0) session.on_drain(fx);
        if (event >= 5 && event <= 8) session.on_rcpt_checked({static_cast<RcptVerdict>(rng() % 8), 1}, fx);
        fx.start_tls = false;
        check_replies(fx.replies);
        fx.replies.clear();
    }
    session.on_timeout(fx);
    check_replies(fx.replies);
    return 0;
}
