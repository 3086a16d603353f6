// Fuzz target: the SMTP client engine. The input's first 8 bytes seed the simulated delivery
// agent's choices (TLS policy, a smarthost credential or none, chunk sizes, which message to send
// and when, the handshake's end, quit, timeouts); the rest is the server's byte stream. Checks:
// commands are whole CRLF lines with no bare CR or LF; AUTH never goes out in plaintext unless
// allowed, and no reply made up by the engine holds the password; feed never uses more than it was given and the caller never holds more than one
// reply line; nothing is read between start_tls and on_tls_started(); every send() ends in exactly
// one done with an outcome per recipient; reply text has no control bytes.
#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "net/smtp/client.h"
#include "tests/fuzz/seeded_input.h"

namespace {

using namespace vmx::smtp;

constexpr std::string_view password = "fuzz-pass-word";

constexpr std::array<std::string_view, 7> bodies = {
    "Subject: x\r\n\r\nhello\r\n",
    ".\r\n..\r\n.x\r\nend",                 // dot-stuffing, no final CRLF
    "",
    "bare\nLF\r\n",                         // refused
    "bare CR\r\r\n",                        // refused
    "0123456789012345678901234567890123456789012345678901234567890123456789\r\n",  // over 64: refused
    "\xc3\xa9t\xc3\xa9\r\n.\r\n",
};
constexpr std::array<std::string_view, 6> addresses = {
    "a@example.com", "b@example.com", "\"q a\"@example.com", "b\xc3\xbc@example.com", "x>\r\nRSET", "",
};

void check_commands(std::string_view commands) {
    if (commands.empty()) return;
    VMX_ASSERT(commands.size() >= 2 && commands.substr(commands.size() - 2) == "\r\n");
    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (commands[i] == '\r') VMX_ASSERT(i + 1 < commands.size() && commands[i + 1] == '\n');
        if (commands[i] == '\n') VMX_ASSERT(i > 0 && commands[i - 1] == '\r');
    }
}

void check_reply(const Reply& r) {
    VMX_ASSERT(r.code >= 200 && r.code <= 599);
    for (const char c : r.text) VMX_ASSERT(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}

bool sends_auth(std::string_view commands) {
    return commands.starts_with("AUTH ") || commands.find("\nAUTH ") != std::string_view::npos;
}

// Set per input: a server that itself wrote the password may see it quoted back (a made-up reply
// may carry the server's text); the check is that the engine never takes it from the credential.
bool server_wrote_password = false;

void check_made_up(const Reply& r) {
    if (r.from == ReplyFrom::client && !server_wrote_password) VMX_ASSERT(r.text.find(password) == std::string::npos);
}

struct Agent {
    std::size_t in_flight = 0;       // send() calls without their done yet
    std::size_t recipients = 0;      // of the message in flight
    bool tls_pending = false;        // start_tls seen, on_tls_started() not yet called
    bool plaintext_auth_allowed = false;

    void take(ClientEffects& fx, const Client& client) {
        check_commands(fx.commands);
        if (sends_auth(fx.commands)) VMX_ASSERT(client.tls_active() || plaintext_auth_allowed);
        if (fx.start_tls) {
            VMX_ASSERT(!tls_pending);
            tls_pending = true;
        }
        if (fx.done) {
            VMX_ASSERT(in_flight == 1);
            --in_flight;
            VMX_ASSERT(fx.done->recipients.size() == recipients);
            for (std::size_t i = 0; i < recipients; ++i) {
                VMX_ASSERT(fx.done->recipients[i].index == i);
                check_reply(fx.done->recipients[i].reply);
            }
            check_reply(fx.done->reply);
            check_made_up(fx.done->reply);
        }
        if (fx.session_failed) {
            check_reply(*fx.session_failed);
            check_made_up(*fx.session_failed);
            VMX_ASSERT(fx.close && client.closed());
        }
        VMX_ASSERT(!client.ready() || in_flight == 0);
        fx = ClientEffects{};
    }
};

OutboundMessage pick_message(std::mt19937_64& rng) {
    OutboundMessage m;
    m.sender = rng() % 4 == 0 ? std::string() : std::string(addresses[rng() % addresses.size()]);
    const std::size_t count = 1 + rng() % 4;
    for (std::size_t i = 0; i < count; ++i) m.recipients.emplace_back(addresses[rng() % addresses.size()]);
    m.body = bodies[rng() % bodies.size()];
    m.smtputf8 = rng() % 3 == 0;
    m.eight_bit = rng() % 2 == 0;
    return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto [rng, stream] = vmx::fuzz::seeded_input(data, size);
    server_wrote_password =
        std::string_view(reinterpret_cast<const char*>(data), size).find(password) != std::string_view::npos;

    ClientLimits limits;
    limits.reply_line_bytes_max = 512;
    limits.reply_lines_max = 8;
    limits.line_bytes_max = 64;
    limits.recipients_max = 4;
    ClientOptions options;
    options.helo = "out.example.org";
    options.tls = static_cast<TlsPolicy>(rng() % 4);
    options.tls_possible = rng() % 4 != 0;
    if (rng() % 2 == 0) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(password.data());
        options.auth = ClientAuth{"relay@example.org", vmx::crypto::SecretBytes::copy_of({p, password.size()})};
        options.auth_without_tls = rng() % 4 == 0;
    }
    Client client(limits, options);
    ClientEffects fx;
    Agent agent;
    agent.plaintext_auth_allowed = options.auth_without_tls;
    std::string held;
    std::size_t pos = 0;
    while (pos < stream.size() && !client.closed()) {
        const std::size_t n = 1 + rng() % 64;
        held.append(stream.substr(pos, n));
        pos += n;
        while (!held.empty() && !agent.tls_pending) {
            const std::size_t used = client.feed(held, fx);
            VMX_ASSERT(used <= held.size());
            held.erase(0, used);
            const bool start_tls = fx.start_tls;
            agent.take(fx, client);
            if (start_tls) held.clear();  // sent before the handshake: never to be read
            if (used == 0) break;
        }
        VMX_ASSERT(held.size() < limits.reply_line_bytes_max);
        if (agent.tls_pending && !held.empty()) {
            // A caller that feeds anyway: consumed unread, nothing comes of it.
            VMX_ASSERT(client.feed(held, fx) == held.size());
            VMX_ASSERT(fx.commands.empty() && !fx.done && !fx.session_failed && !fx.close && !fx.start_tls);
            held.clear();
        }
        const unsigned event = static_cast<unsigned>(rng() % 64);
        if (agent.tls_pending && event % 4 != 0) {
            agent.tls_pending = false;
            if (event == 1) client.abort(Abort::tls_failed, fx);
            else client.on_tls_started(fx);
        } else if (client.ready() && event % 3 == 0) {
            const OutboundMessage m = pick_message(rng);
            VMX_ASSERT(agent.in_flight == 0);
            agent.in_flight = 1;
            agent.recipients = m.recipients.size();
            client.send(m, fx);
        } else if (event == 62) {
            client.quit(fx);
        } else if (event == 63) {
            client.abort(Abort::timeout, fx);
        }
        agent.take(fx, client);
    }
    client.abort(Abort::connection_lost, fx);
    agent.take(fx, client);
    VMX_ASSERT(agent.in_flight == 0 && client.closed());
    return 0;
}
