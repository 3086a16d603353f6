// Fuzz target: the POP3 engine (net/pop3/session.h) driven as its adapter would, by a script of
// client bytes and caller events. Bytes 0x01-0x08, 0x0b, 0x0c, 0x0e-0x12 are events (feed the
// pending client bytes as one block or one byte at a time, auth outcomes, maildrop, body chunk/end/
// failure, update result, TLS started, timeout, drain, logout, room to write); every other byte is client input.
// Checked: no crash; feed() progress and bounds; replies outside bodies are printable lines; each
// request matches awaiting(); nothing comes out after close.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "net/pop3/session.h"

namespace {

using namespace vmx::pop3;

class Script {
public:
    Script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool empty() const { return at_ == size_; }
    std::uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

class Harness {
public:
    Harness(const Limits& limits, Transport transport) : limits_(limits), session_(limits, transport, {14, 60}) {
        session_.start(fx_);
        check(Output::lines, 0);
    }

    void feed(std::string& pending, bool bytewise) {
        unread_.append(pending);
        pending.clear();
        while (true) {
            while (session_.awaiting() == Awaiting::writable) {  // the adapter sent the last batch
                session_.on_writable(fx_);
                check(Output::lines, 0);
            }
            if (unread_.empty() || session_.awaiting() != Awaiting::input) break;
            const std::string_view offer = bytewise ? std::string_view(unread_).substr(0, 1) : std::string_view(unread_);
            const std::size_t used = session_.feed(offer, fx_);
            VMX_ASSERT(used > 0 && used <= offer.size());  // fx_ is empty, so below the output limit
            unread_.erase(0, used);
            check(Output::lines, 0);
        }
        if (session_.awaiting() != Awaiting::input && !unread_.empty()) {
            VMX_ASSERT(session_.feed(unread_, fx_) == 0);
            check(Output::lines, 0);
        }
    }

    void event(std::uint8_t op, Script& s, std::string& pending) {
        switch (op) {
            case 0x03: session_.on_auth_result(AuthOutcome::ok, fx_); break;
            case 0x04: session_.on_auth_result(static_cast<AuthOutcome>(s.next() % 6), fx_); break;
            case 0x05: session_.on_maildrop(messages(s.next()), fx_); break;
            case 0x06: return body_chunk(pending);
            case 0x07:
                session_.on_body_end(fx_);
                return check(Output::body, 0);  // may end a body line before the terminator
            case 0x08: session_.on_body_failed(fx_); break;
            case 0x0b: session_.on_update_done(s.next() & 1 ? UpdateResult::failed : UpdateResult::ok, fx_); break;
            case 0x0c:
                if (tls_asked_) unread_.clear();  // the adapter drops what came before the handshake
                session_.on_tls_started(fx_);
                break;
            case 0x0e: session_.on_timeout(fx_); break;
            case 0x0f: session_.on_drain(fx_); break;
            case 0x10: session_.on_logout(s.next() & 1 ? LogoutReason::admin : LogoutReason::session_limit, fx_); break;
            case 0x12: session_.on_writable(fx_); break;
            default: session_.on_maildrop_failed(fx_); break;
        }
        check(Output::lines, 0);
    }

private:
    enum class Output { lines, body };

    static std::vector<MessageInfo> messages(std::uint8_t n) {
        std::vector<MessageInfo> v;
        for (std::uint8_t i = 0; i < (n & 0x1f); ++i) v.push_back({i + 1000u, i * 37u, "u" + std::to_string(i)});
        if ((n & 0x80) && !v.empty()) v.back().uidl = "bad uidl";
        return v;
    }

    void body_chunk(std::string& pending) {
        session_.on_body_chunk(pending, fx_);
        check(Output::body, pending.size());
        pending.clear();
    }

    void check(Output kind, std::size_t chunk_bytes) {
        if (closed_) VMX_ASSERT(fx_.replies.empty() && !fx_.auth && !fx_.body && fx_.expunge.empty() && !fx_.start_tls);
        if (kind == Output::lines) {
            check_lines();
        } else {
            VMX_ASSERT(fx_.replies.size() <= 2 * chunk_bytes + 160);  // +OK line, terminator, shutdown line
        }
        if (fx_.auth) {
            VMX_ASSERT(session_.awaiting() == Awaiting::auth_result);
            VMX_ASSERT(!fx_.auth->username.empty() && fx_.auth->username.size() <= limits_.username_bytes_max);
            VMX_ASSERT(!fx_.auth->secret.empty() && fx_.auth->secret.size() <= limits_.secret_bytes_max);
        }
        if (fx_.body) VMX_ASSERT(session_.awaiting() == Awaiting::body);
        if (!fx_.expunge.empty()) VMX_ASSERT(session_.awaiting() == Awaiting::update);
        if (fx_.start_tls) {
            VMX_ASSERT(session_.awaiting() == Awaiting::tls_handshake);
            tls_asked_ = true;
        }
        if (fx_.close) {
            VMX_ASSERT(session_.awaiting() == Awaiting::nothing && session_.closed());
            closed_ = true;
        }
        fx_.clear();
    }

    // Protocol lines (everything but a body) are printable ASCII ending in CRLF: no client byte
    // that could steer a terminal or a log parser comes back.
    void check_lines() const {
        const std::string& r = fx_.replies;
        if (r.empty()) return;
        VMX_ASSERT(r.size() >= 2 && r.compare(r.size() - 2, 2, "\r\n") == 0);
        for (std::size_t i = 0; i < r.size(); ++i) {
            const auto b = static_cast<unsigned char>(r[i]);
            if (b == '\r') VMX_ASSERT(i + 1 < r.size() && r[i + 1] == '\n');
            else if (b == '\n') VMX_ASSERT(i > 0 && r[i - 1] == '\r');
            else VMX_ASSERT(b >= 0x20 && b < 0x7f);
        }
    }

    Limits limits_;
    Session session_;
    Effects fx_;
    std::string unread_;
    bool closed_ = false;
    bool tls_asked_ = false;
};

bool is_event(std::uint8_t b) { return (b >= 0x01 && b <= 0x08) || b == 0x0b || b == 0x0c || (b >= 0x0e && b <= 0x12); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Script s(data, size);
    Limits limits;
    limits.command_line_bytes_max = 24 + s.next();
    limits.auth_line_bytes_max = limits.command_line_bytes_max + 4u * s.next();
    limits.errors_max = 1 + s.next() % 16u;
    limits.auth_failures_max = 1 + s.next() % 4u;
    limits.messages_max = 1 + s.next() % 24u;
    limits.reply_bytes_soft_max = 32 + 16u * s.next();
    const Transport transport = s.next() & 1 ? Transport{Tls::active, Stls::not_offered} : Transport{Tls::none, Stls::offered};
    Harness h(limits, transport);
    std::string pending;
    while (!s.empty()) {
        const std::uint8_t b = s.next();
        if (!is_event(b)) {
            pending.push_back(static_cast<char>(b));
        } else if (b == 0x01 || b == 0x02) {
            h.feed(pending, b == 0x02);
        } else {
            h.event(b, s, pending);
        }
    }
    h.feed(pending, false);
    return 0;
}
