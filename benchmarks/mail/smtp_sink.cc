// The discard server's SMTP handler. See smtp_sink.h.
#include "benchmarks/mail/smtp_sink.h"

#include "benchmarks/mail/pop3_client.h"
#include "net/stream/stream.h"

namespace vmx::bench {
namespace {

constexpr std::size_t command_bytes_max = 4096;

bool verb_is(std::string_view line, std::string_view verb) {
    if (line.size() < verb.size()) return false;
    for (std::size_t i = 0; i < verb.size(); ++i)
        if ((line[i] & ~0x20) != verb[i]) return false;
    return line.size() == verb.size() || line[verb.size()] == ' ' || line[verb.size()] == '\r';
}

class SinkHandler final : public net::StreamHandler {
public:
    SinkHandler(bool tls_available, SinkCounters& counters) : tls_available_(tls_available), counters_(counters) {}

    void on_open(net::Stream& s) override {
        counters_.sessions.fetch_add(1, std::memory_order_relaxed);
        (void)s.send("220 vaultmx-bench sink ESMTP\r\n");
    }

    std::size_t on_data(net::Stream& s, std::string_view plain) override {
        std::string replies;
        std::size_t used = 0;
        bool stop = false;
        while (used < plain.size() && !stop) {
            if (in_body_) {
                const std::size_t n = body_.scan(plain.substr(used));
                used += n;
                body_bytes_ += n;
                if (!body_.done()) break;
                in_body_ = false;
                counters_.messages.fetch_add(1, std::memory_order_relaxed);
                counters_.bytes.fetch_add(body_bytes_, std::memory_order_relaxed);
                replies += "250 2.0.0 Ok: discarded\r\n";
                continue;
            }
            const std::size_t nl = plain.find('\n', used);
            if (nl == std::string_view::npos) {
                if (plain.size() - used > command_bytes_max) {
                    (void)s.send(replies + "500 5.5.2 Line too long\r\n");
                    s.close(CloseMode::after_flush);
                    return plain.size();
                }
                break;
            }
            stop = command(s, plain.substr(used, nl + 1 - used), replies);
            used = nl + 1;
        }
        if (!replies.empty()) (void)s.send(replies);
        if (stop_tls_) {
            stop_tls_ = false;
            (void)s.start_tls();
        }
        return used;
    }

private:
    // One command line; true when no further input may be read from this call (STARTTLS, QUIT).
    bool command(net::Stream& s, std::string_view line, std::string& replies) {
        if (verb_is(line, "EHLO")) {
            replies += "250-vaultmx-bench sink\r\n250-PIPELINING\r\n250-SIZE 104857600\r\n250-8BITMIME\r\n";
            if (tls_available_ && !s.tls_active()) replies += "250-STARTTLS\r\n";
            replies += "250 SMTPUTF8\r\n";
        } else if (verb_is(line, "HELO") || verb_is(line, "MAIL") || verb_is(line, "RCPT") || verb_is(line, "RSET") ||
                   verb_is(line, "NOOP")) {
            replies += "250 2.0.0 Ok\r\n";
        } else if (verb_is(line, "DATA")) {
            replies += "354 End data with <CR><LF>.<CR><LF>\r\n";
            in_body_ = true;
            body_.reset();
            body_bytes_ = 0;
        } else if (verb_is(line, "STARTTLS") && tls_available_ && !s.tls_active()) {
            replies += "220 2.0.0 Ready to start TLS\r\n";
            stop_tls_ = true;
            return true;
        } else if (verb_is(line, "QUIT")) {
            replies += "221 2.0.0 Bye\r\n";
            (void)s.send(replies);
            replies.clear();
            s.close(CloseMode::after_flush);
            return true;
        } else {
            replies += "502 5.5.2 Command not recognized\r\n";
        }
        return false;
    }

    const bool tls_available_;
    SinkCounters& counters_;
    MultiLineScanner body_;
    std::uint64_t body_bytes_ = 0;
    bool in_body_ = false;
    bool stop_tls_ = false;
};

}  // namespace

ServiceFactory smtp_sink_factory(std::shared_ptr<const net::TlsServerContext> tls, SinkCounters& counters) {
    const bool tls_available = tls != nullptr;
    net::StreamOptions options;
    options.tls_mode = tls_available ? net::TlsMode::starttls : net::TlsMode::none;
    options.tls = std::move(tls);
    SinkCounters* c = &counters;
    return net::stream_service_factory(options, [tls_available, c](net::Stream&) -> std::unique_ptr<net::StreamHandler> {
        return std::make_unique<SinkHandler>(tls_available, *c);
    });
}

}  // namespace vmx::bench
