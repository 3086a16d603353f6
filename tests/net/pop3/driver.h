// Test driver for pop3::Session: plays the adapter's part (keeps unread input, re-feeds it when the
// session waits for input again, collects replies and requests) in one of two feeding modes: the
// whole unread input at once, or one byte per feed() call. Test-only, single-threaded.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/pop3/session.h"

namespace vmx::pop3::test {

enum class Feeding { block, bytewise };

inline const char* feeding_name(Feeding f) { return f == Feeding::block ? "block" : "bytewise"; }

class Driver {
public:
    explicit Driver(Feeding feeding, Transport transport = {}, Limits limits = {}, Advertised advertised = {})
        : feeding_(feeding), session_(limits, transport, advertised) {
        session_.start(fx_);
        collect();
    }

    // The client sends bytes; everything the session can take now is fed.
    void send(std::string_view bytes) {
        unread_.append(bytes);
        pump();
    }
    // All replies since the last call.
    std::string take() { return std::exchange(replies_, {}); }

    void auth(AuthOutcome outcome) { call([&](Effects& fx) { session_.on_auth_result(outcome, fx); }); }
    void maildrop(std::vector<MessageInfo> messages) {
        call([&](Effects& fx) { session_.on_maildrop(std::move(messages), fx); });
    }
    void chunk(std::string_view bytes) { call([&](Effects& fx) { session_.on_body_chunk(bytes, fx); }); }
    void body_end() { call([&](Effects& fx) { session_.on_body_end(fx); }); }
    void body_failed() { call([&](Effects& fx) { session_.on_body_failed(fx); }); }
    void update_done(UpdateResult r) { call([&](Effects& fx) { session_.on_update_done(r, fx); }); }
    void timeout() { call([&](Effects& fx) { session_.on_timeout(fx); }); }
    void drain() { call([&](Effects& fx) { session_.on_drain(fx); }); }
    void logout(LogoutReason r) { call([&](Effects& fx) { session_.on_logout(r, fx); }); }
    // The handshake ran: what the client sent before it is dropped, as the adapter must.
    void tls_started() {
        dropped_ = std::exchange(unread_, {});
        call([&](Effects& fx) { session_.on_tls_started(fx); });
    }

    Session& session() { return session_; }
    const std::string& unread() const { return unread_; }
    const std::string& dropped() const { return dropped_; }
    bool closed_signal() const { return close_; }
    bool start_tls_signal() const { return start_tls_; }
    bool body_enough() const { return body_enough_; }
    std::optional<AuthRequest>& auth_request() { return auth_; }
    std::optional<BodyRequest>& body_request() { return body_; }
    std::vector<std::uint64_t>& expunge() { return expunge_; }
    int effect_calls_with_output() const { return outputs_; }
    int writable_calls() const { return writable_calls_; }
    // While held, the driver does not report replies as sent (a slow client).
    void hold_writable(bool hold) {
        hold_writable_ = hold;
        if (!hold) pump();
    }

private:
    template <class F>
    void call(F&& f) {
        f(fx_);
        collect();
        pump();
    }

    // Sends (collects) what came out, then gives the session what it waits for: room to write
    // more of a listing, or the client's unread bytes.
    void pump() {
        while (session_.awaiting() == Awaiting::writable && !hold_writable_) {
            session_.on_writable(fx_);
            ++writable_calls_;
            collect();
        }
        while (!unread_.empty() && session_.awaiting() == Awaiting::input) {
            const std::string_view offer = feeding_ == Feeding::block ? std::string_view(unread_)
                                                                      : std::string_view(unread_).substr(0, 1);
            const std::size_t used = session_.feed(offer, fx_);
            collect();
            if (used == 0) break;
            unread_.erase(0, used);
            while (session_.awaiting() == Awaiting::writable && !hold_writable_) {
                session_.on_writable(fx_);
                ++writable_calls_;
                collect();
            }
        }
    }

    void collect() {
        if (!fx_.replies.empty()) ++outputs_;
        replies_.append(fx_.replies);
        close_ = close_ || fx_.close;
        start_tls_ = start_tls_ || fx_.start_tls;
        body_enough_ = body_enough_ || fx_.body_enough;
        if (fx_.auth) auth_ = std::move(fx_.auth);
        if (fx_.body) {
            body_ = fx_.body;
            body_enough_ = false;
        }
        if (!fx_.expunge.empty()) expunge_ = fx_.expunge;
        fx_.clear();
    }

    Feeding feeding_;
    Session session_;
    Effects fx_;
    std::string unread_;
    std::string dropped_;
    std::string replies_;
    bool close_ = false;
    bool start_tls_ = false;
    bool body_enough_ = false;
    int outputs_ = 0;
    int writable_calls_ = 0;
    bool hold_writable_ = false;
    std::optional<AuthRequest> auth_;
    std::optional<BodyRequest> body_;
    std::vector<std::uint64_t> expunge_;
};

inline std::string secret_text(const crypto::SecretBytes& s) {
    const auto v = s.view();
    return {reinterpret_cast<const char*>(v.data()), v.size()};
}

}  // namespace vmx::pop3::test
