// The portal's HTTP connections (see http_service.h).
#include "appliance/portal/http_service.h"

#include <fmt/format.h>

#include "core/patterns.h"
#include "core/shard.h"
#include "net/http/form.h"
#include "net/http/response.h"
#include "net/stream/stream.h"

namespace vmx::portal {
namespace {

// Headers every answer carries, the errors the parser gives too (no page may lack them).
http::Response plain_error(int status) {
    http::Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
    r.body = fmt::format("{} {}\n", status, http::reason_phrase(status));
    PortalApp::add_security_headers(r);
    return r;
}

// One HTTP connection: parse, answer (now or when the app calls back), then the next request.
class HttpConnection final : public net::StreamHandler {
public:
    using Answer = std::function<void(HttpConnection&, net::Stream&, http::Request)>;

    HttpConnection(const http::RequestLimits& limits, Answer answer) : limits_(limits), answer_(std::move(answer)) {}
    ~HttpConnection() override { *alive_ = false; }

    std::size_t on_data(net::Stream& stream, std::string_view plain) override {
        if (busy_ || closing_) return 0;  // kept, and offered again once the answer is out
        http::Request request;
        const http::ParseResult parsed = http::parse_request(plain, limits_, request);
        if (parsed.status == http::ParseStatus::incomplete) return 0;
        if (parsed.status == http::ParseStatus::error) {
            send(stream, plain_error(parsed.error_status), http::BodyMode::with_body, http::ConnectionMode::close);
            return plain.size();
        }
        busy_ = true;
        head_only_ = request.method == "HEAD";
        keep_alive_ = request.keep_alive;
        answer_(*this, stream, std::move(request));
        return parsed.consumed;
    }

    // The answer to the request in hand; the next one (already received, perhaps) is read after it.
    void finish(net::Stream& stream, const http::Response& response) {
        busy_ = false;
        send(stream, response, head_only_ ? http::BodyMode::head_only : http::BodyMode::with_body,
             keep_alive_ ? http::ConnectionMode::keep_alive : http::ConnectionMode::close);
        if (!closing_) stream.redeliver();
    }

    // The answer as a head, then body_bytes from `body` in pieces, each asked for once the send
    // queue has room, so a connection holds about one piece; the next request is read after the last.
    // A piece that does not come, or would pass the length, closes the connection: the browser sees
    // a cut download, never a wrong one.
    void finish_stream(net::Stream& stream, const http::Response& head, std::uint64_t body_bytes,
                       const std::shared_ptr<BodySource>& body) {
        const auto mode = keep_alive_ ? http::ConnectionMode::keep_alive : http::ConnectionMode::close;
        if (!stream.send(http::serialize_head(head, body_bytes, mode))) return cut(stream);
        if (head_only_ || body_bytes == 0) return end_body(stream);
        body_ = body;
        body_left_ = body_bytes;
        pump(stream);
    }

    void on_writable(net::Stream& stream) override { pump(stream); }

    std::shared_ptr<bool> alive() const { return alive_; }

private:
    static constexpr std::size_t slice_bytes = 65536;  // what one send() takes at most

    // Sends what is left of the piece in hand while the queue takes it, then asks for the next.
    void pump(net::Stream& stream) {
        if (!body_ || asking_ || closing_) return;
        for (; pending_at_ < pending_.size(); pending_at_ += slice_bytes) {
            if (stream.send_queue_full()) return stream.want_writable();
            if (!stream.send(std::string_view(pending_).substr(pending_at_, slice_bytes))) return cut(stream);
        }
        pending_.clear();
        pending_at_ = 0;
        if (body_left_ == 0) return end_body(stream);
        if (stream.send_queue_full()) return stream.want_writable();
        asking_ = true;
        body_->next([this, alive = alive_, &stream](std::optional<std::string> piece) {
            if (!*alive) return;
            asking_ = false;
            if (!piece || piece->empty() || piece->size() > body_left_) return cut(stream);
            body_left_ -= piece->size();
            pending_ = std::move(*piece);
            pump(stream);
        });
    }

    void end_body(net::Stream& stream) {
        body_.reset();
        busy_ = false;
        if (!keep_alive_) {
            closing_ = true;
            return stream.close(CloseMode::after_flush);
        }
        stream.redeliver();
    }

    void cut(net::Stream& stream) {
        body_.reset();
        closing_ = true;
        stream.close(CloseMode::after_flush);
    }

    void send(net::Stream& stream, const http::Response& response, http::BodyMode body, http::ConnectionMode mode) {
        const std::string bytes = http::serialize(response, body, mode);
        // A large answer goes in pieces no larger than the send queue takes at once.
        constexpr std::size_t piece_bytes = 65536;
        bool sent = true;
        for (std::size_t at = 0; at < bytes.size() && sent; at += piece_bytes)
            sent = stream.send(std::string_view(bytes).substr(at, piece_bytes)).has_value();
        if (!sent || mode == http::ConnectionMode::close) {
            closing_ = true;
            stream.close(CloseMode::after_flush);
        }
    }

    const http::RequestLimits& limits_;
    Answer answer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    bool busy_ = false;
    bool closing_ = false;
    bool head_only_ = false;
    bool keep_alive_ = true;
    std::shared_ptr<BodySource> body_;  // a body still coming in pieces
    std::uint64_t body_left_ = 0;       // its bytes not yet asked for
    std::string pending_;               // the piece in hand
    std::size_t pending_at_ = 0;        // how much of it is sent
    bool asking_ = false;               // a piece was asked for and has not come
};

std::string tls_version_of(const net::Stream& stream) {
    const auto& info = stream.tls_info();
    return info ? info->version : std::string();
}

}  // namespace

ServiceFactory portal_service_factory(const HttpSettings& settings, AppOf app_of) {
    net::StreamOptions options;
    options.tls_mode = net::TlsMode::implicit;
    options.tls = settings.tls;
    options.tls_slot = settings.tls_slot;
    options.unconsumed_bytes_max = settings.limits.head.head_bytes_max + settings.limits.body_bytes_max;
    const http::RequestLimits& limits = settings.limits;
    return [options, &limits, app_of = std::move(app_of)](Shard& shard) {
        PortalApp& app = app_of(shard);
        const std::uint32_t shard_id = shard.id();
        auto factory = [&limits, &app, shard_id](net::Stream&) -> std::unique_ptr<net::StreamHandler> {
            return std::make_unique<HttpConnection>(
                limits, [&app, shard_id](HttpConnection& c, net::Stream& s, http::Request request) {
                    auto alive = c.alive();
                    app.handle(std::move(request), s.peer().host(), tls_version_of(s), shard_id,
                               [alive, &c, &s](const http::Response& response) {
                                   if (*alive) c.finish(s, response);
                               },
                               [alive, &c, &s](const http::Response& head, std::uint64_t bytes,
                                               const std::shared_ptr<BodySource>& body) {
                                   if (*alive) c.finish_stream(s, head, bytes, body);
                               });
                });
        };
        return net::stream_service_factory(options, factory)(shard);
    };
}

namespace {

// Where the redirect sends a browser: the host it asked for (checked: a domain name or an address,
// never anything that could change the URL's meaning), the HTTPS port, the same path.
std::optional<std::string> https_location(const http::Request& request, std::uint16_t https_port) {
    auto host = request.field("host");
    auto target = http::split_target(request.target);
    if (!host || !target) return std::nullopt;
    std::string name(*host);
    if (name.starts_with('[')) return std::nullopt;  // IPv6 literals: not offered for the portal
    if (auto colon = name.rfind(':'); colon != std::string::npos) name.resize(colon);
    if (!matches(Pattern::domain, name) && !matches(Pattern::ipv4, name)) return std::nullopt;
    std::string location = "https://" + name;
    if (https_port != 443) location += ":" + std::to_string(https_port);
    location += request.target.substr(0, request.target.find('#'));
    return location;
}

constexpr std::string_view acme_challenge_path = "/.well-known/acme-challenge/";

// The CA's HTTP-01 request: the daemon's answer for the token, as the body and nothing else.
void answer_challenge(HttpConnection& c, net::Stream& s, std::string_view token, DaemonLink& daemon, std::uint32_t shard) {
    auto alive = c.alive();
    DaemonRequest ask{"acme-challenge", {{"token", std::string(token)}}, {}};
    daemon.call(shard, std::move(ask), [alive, &c, &s](const DaemonReply& reply) {
        if (!*alive) return;
        if (reply.status != DaemonStatus::ok) return c.finish(s, plain_error(404));
        http::Response r;
        r.headers.emplace_back("Content-Type", "application/octet-stream");
        r.body = reply.text;
        PortalApp::add_security_headers(r);
        c.finish(s, r);
    });
}

}  // namespace

ServiceFactory redirect_service_factory(const HttpSettings& settings) {
    net::StreamOptions options;
    options.tls_mode = net::TlsMode::none;
    options.unconsumed_bytes_max = settings.limits.head.head_bytes_max + settings.limits.body_bytes_max;
    const http::RequestLimits& limits = settings.limits;
    const std::uint16_t port = settings.https_port;
    DaemonLink* daemon = settings.daemon;
    return [options, &limits, port, daemon](Shard& shard) {
        const std::uint32_t shard_id = shard.id();
        auto factory = [&limits, port, daemon, shard_id](net::Stream&) -> std::unique_ptr<net::StreamHandler> {
            return std::make_unique<HttpConnection>(limits, [port, daemon, shard_id](HttpConnection& c, net::Stream& s,
                                                                                     const http::Request& request) {
                if (request.method != "GET" && request.method != "HEAD") return c.finish(s, plain_error(405));
                if (daemon != nullptr && request.target.starts_with(acme_challenge_path)) {
                    const std::string_view token = std::string_view(request.target).substr(acme_challenge_path.size());
                    return answer_challenge(c, s, token, *daemon, shard_id);
                }
                auto location = https_location(request, port);
                if (!location) return c.finish(s, plain_error(400));
                http::Response r;
                r.status = 301;
                r.headers.emplace_back("Location", *location);
                PortalApp::add_security_headers(r);
                c.finish(s, r);
            });
        };
        return net::stream_service_factory(options, factory)(shard);
    };
}

}  // namespace vmx::portal
