// The portal's routes, headers, cookies and CSRF checks (see portal_app.h).
#include "appliance/portal/portal_app.h"

#include <fmt/format.h>

#include <algorithm>

#include "appliance/portal/html.h"
#include "appliance/portal/static_assets.h"
#include "core/hex_text.h"
#include "crypto/hmac.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "net/http/form.h"

namespace vmx::portal {
namespace {

using Handler = void (*)(const ExchangePtr&);

enum class Access : std::uint8_t {
    open,     // anyone (the sign-in form, the style sheet)
    session,  // a session cookie, or the browser goes to /login
};

struct Route {
    std::string_view method;  // "GET" (HEAD too) or "POST"
    std::string_view path;
    Access access;
    Handler handler;
};

void get_root(const ExchangePtr& ex) { ex->redirect(ex->token.empty() ? "/login" : "/security"); }

void static_file(const ExchangePtr& ex, std::string_view type, std::string_view body) {
    http::Response r;
    r.headers.emplace_back("Content-Type", std::string(type));
    r.body = std::string(body);
    PortalApp::add_security_headers(r, true);
    ex->respond(std::move(r));
}

void get_stylesheet(const ExchangePtr& ex) { static_file(ex, "text/css; charset=utf-8", portal_stylesheet()); }
void get_webauthn_script(const ExchangePtr& ex) { static_file(ex, "text/javascript; charset=utf-8", webauthn_script()); }

constexpr Route kRoutes[] = {
    {"GET", "/", Access::open, get_root},
    {"GET", "/static/portal.css", Access::open, get_stylesheet},
    {"GET", "/static/webauthn.js", Access::open, get_webauthn_script},
    {"GET", "/login", Access::open, get_login},
    {"POST", "/login", Access::open, post_login},
    {"POST", "/login/code", Access::session, post_login_code},
    {"POST", "/login/key/begin", Access::session, post_login_key_begin},
    {"POST", "/login/key", Access::session, post_login_key},
    {"POST", "/logout", Access::session, post_logout},
    {"GET", "/security", Access::session, get_security},
    {"POST", "/sessions/end", Access::session, post_end_session},
    {"POST", "/sessions/end-all", Access::session, post_logout_everywhere},
    {"GET", "/password", Access::session, get_password},
    {"POST", "/password", Access::session, post_password},
    {"GET", "/app-passwords", Access::session, get_app_passwords},
    {"POST", "/app-passwords", Access::session, post_app_password_add},
    {"POST", "/app-passwords/revoke", Access::session, post_app_password_revoke},
    {"GET", "/totp", Access::session, get_totp},
    {"POST", "/totp/confirm", Access::session, post_totp_confirm},
    {"POST", "/totp/disable", Access::session, post_totp_disable},
    {"GET", "/security-keys", Access::session, get_security_keys},
    {"POST", "/security-keys/begin", Access::session, post_security_keys_begin},
    {"POST", "/security-keys", Access::session, post_security_keys},
    {"POST", "/security-keys/remove", Access::session, post_security_keys_remove},
    {"GET", "/trash", Access::session, get_trash},
    {"POST", "/trash/restore", Access::session, post_trash_restore},
    {"GET", "/export", Access::session, get_export},
    {"POST", "/export/prepare", Access::session, post_export_prepare},
    {"POST", "/export/download", Access::session, post_export_download},
    {"POST", "/export/discard", Access::session, post_export_discard},
    {"GET", "/close", Access::session, get_close},
    {"POST", "/close", Access::session, post_close},
    {"GET", "/reopen", Access::session, get_reopen},
    {"POST", "/reopen", Access::session, post_reopen},
};

bool constant_equal(std::string_view a, std::string_view b) {
    return crypto::constant_time_equal({reinterpret_cast<const std::uint8_t*>(a.data()), a.size()},
                                       {reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
}

}  // namespace

std::string cookie_of(const http::Request& request, std::string_view name) {
    for (std::size_t i = 0; i < request.fields.size(); ++i) {
        if (request.fields[i].first != "cookie") continue;
        for (const auto& [n, v] : http::parse_cookies(request.fields[i].second, 32))
            if (n == name) return std::string(v);
    }
    return {};
}

std::string session_cookie_value(std::string_view name, std::string_view value, bool remove) {
    return fmt::format("{}={}; Path=/; Secure; HttpOnly; SameSite=Strict{}", name, value,
                       remove ? "; Max-Age=0" : "");
}

PortalApp::PortalApp(DaemonLink& daemon, PortalOptions options) : daemon_(daemon), options_(options) {
    if (!crypto::random_bytes(key_)) key_.fill(0);  // then every token check fails (mac() refuses)
}

std::string PortalApp::mac(std::string_view purpose, std::string_view what) const {
    if (std::all_of(key_.begin(), key_.end(), [](auto b) { return b == 0; }) || what.empty()) return {};
    std::array<std::uint8_t, 32> out{};
    static constexpr std::uint8_t separator[1] = {0};
    const std::span<const std::uint8_t> parts[] = {
        {reinterpret_cast<const std::uint8_t*>(purpose.data()), purpose.size()},
        separator,
        {reinterpret_cast<const std::uint8_t*>(what.data()), what.size()},
    };
    if (!crypto::hmac_sha256(key_, parts, out)) return {};
    return hex_of(std::span<const std::uint8_t>(out).first(16));
}

void PortalApp::add_security_headers(http::Response& response, bool cacheable) {
    auto& h = response.headers;
    h.emplace_back("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
    h.emplace_back("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    h.emplace_back("X-Frame-Options", "DENY");
    h.emplace_back("X-Content-Type-Options", "nosniff");
    h.emplace_back("Referrer-Policy", "no-referrer");
    h.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
    h.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
    h.emplace_back("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()");
    h.emplace_back("Cache-Control", cacheable ? "max-age=3600" : "no-store");
}

// A state change must come from one of our own pages: a browser names the page's origin (Origin)
// and says whether the request is cross-site (Sec-Fetch-Site); either one from elsewhere refuses.
bool PortalApp::same_origin(const http::Request& request) const {
    if (auto site = request.field("sec-fetch-site"); site && *site != "same-origin" && *site != "none") return false;
    auto origin = request.field("origin");
    // No Origin (an older client), or "null" (what a browser sends for a form of a page whose
    // Referrer-Policy is no-referrer, as ours are): Sec-Fetch-Site above and the form's token decide.
    if (!origin || *origin == "null") return true;
    auto host = request.field("host");
    return host && *origin == "https://" + std::string(*host);
}

void PortalApp::handle(http::Request request, std::string client_ip, std::string tls_version, std::uint32_t shard,
                       Respond respond, RespondStream respond_stream) {
    auto target = http::split_target(request.target);
    auto ex = std::make_shared<Exchange>(Exchange{*this, std::move(request), {}, std::move(client_ip),
                                                  std::move(tls_version), shard, {}, {}, std::move(respond), {},
                                                  std::move(respond_stream)});
    if (!target) return ex->error(400, "That address is not valid.");
    ex->path = std::move(target->path);
    ex->token = cookie_of(ex->request, session_cookie);
    route(ex);
}

void PortalApp::route(const ExchangePtr& ex) {
    const std::string method = ex->request.method == "HEAD" ? "GET" : ex->request.method;
    const Route* found = nullptr;
    bool path_known = false;
    for (const Route& r : kRoutes) {
        if (r.path != ex->path) continue;
        path_known = true;
        if (r.method == method) found = &r;
    }
    if (!path_known) return ex->error(404, "There is no such page.");
    if (found == nullptr) return ex->error(405, "That method is not allowed here.");  // OPTIONS (a CORS preflight) too
    if (found->access == Access::session && ex->token.empty()) return ex->redirect("/login");
    if (method == "POST") {
        if (!same_origin(ex->request)) return ex->error(403, "This form was sent from another site.");
        auto type = ex->request.field("content-type").value_or("");
        if (!type.starts_with("application/x-www-form-urlencoded")) return ex->error(415, "Forms only.");
        auto form = http::parse_form(ex->request.body, options_.form_fields_max, options_.form_value_bytes_max);
        if (!form) return ex->error(400, "The form could not be read.");
        ex->form = std::move(*form);
        // The form's token: bound to the session, or before sign-in to the pre-session cookie.
        const std::string expected = found->access == Access::session
                                         ? ex->csrf()
                                         : mac("pre", cookie_of(ex->request, presession_cookie));
        if (expected.empty() || !constant_equal(ex->field("csrf"), expected))
            return ex->error(403, "This form has expired. Go back, reload the page and try again.");
    }
    found->handler(ex);
}

std::string Exchange::field(std::string_view name) const {
    for (const auto& [n, v] : form)
        if (n == name) return v;
    return {};
}

std::string Exchange::csrf() const { return app.mac("csrf", token); }

void Exchange::page(std::string_view title, std::string_view body_html, bool signed_in, int status,
                    std::uint32_t refresh_s) {
    http::Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    const std::string token_value = signed_in ? csrf() : std::string();
    r.body = render_page(PageFrame{title, signed_in, token_value, address, refresh_s}, body_html);
    PortalApp::add_security_headers(r);
    respond(std::move(r));
}

void Exchange::stream(http::Response head, std::uint64_t body_bytes, std::shared_ptr<BodySource> body) {
    if (!respond_stream) return error(500, "This answer cannot be sent here.");
    PortalApp::add_security_headers(head);
    respond_stream(std::move(head), body_bytes, std::move(body));
}

void Exchange::redirect(std::string_view location, std::vector<std::string> cookies) {
    http::Response r;
    r.status = 303;
    r.headers.emplace_back("Location", std::string(location));
    for (std::string& c : cookies) r.headers.emplace_back("Set-Cookie", std::move(c));
    PortalApp::add_security_headers(r);
    respond(std::move(r));
}

void Exchange::error(int status, std::string_view message) {
    const std::string body = fmt::format("<p>{}</p><p><a href=\"/\">Back</a></p>", escape_html(message));
    page(status >= 500 ? "Something went wrong" : "Not possible", body, false, status);
}

void ask(const ExchangePtr& ex, std::string command, Fields fields, std::function<void(DaemonReply)> done,
         std::string secret) {
    DaemonRequest request{std::move(command), std::move(fields), std::move(secret)};
    request.fields.emplace_back("token", ex->token);
    ex->app.daemon().call(ex->shard, std::move(request), [ex, done = std::move(done)](DaemonReply reply) {
        switch (reply.status) {
            case DaemonStatus::ok:
            case DaemonStatus::refused: return done(std::move(reply));
            case DaemonStatus::signed_out:
                return ex->redirect("/login", {session_cookie_value(session_cookie, "", true)});
            case DaemonStatus::failed:
            case DaemonStatus::unreachable:
                return ex->error(503, "The mail system did not answer. Try again in a moment.");
        }
    });
}

std::string text_of(const nlohmann::json& item, const char* key) {
    auto it = item.find(key);
    return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
}

nlohmann::json json_of(const DaemonReply& reply) {
    return nlohmann::json::parse(reply.text, nullptr, false);
}

void signed_in(const ExchangePtr& ex, std::function<void(const nlohmann::json& me)> then, Enrolment enrolment) {
    ask(ex, "whoami", {}, [ex, enrolment, then = std::move(then)](const DaemonReply& reply) {
        const nlohmann::json me = json_of(reply);
        if (reply.status != DaemonStatus::ok || !me.is_object()) return ex->redirect("/login");
        const std::string stage = me.value("stage", "");
        if (stage == "second_factor") return ex->redirect("/login");
        // A closed account's holder signed in to undo the closure: that page, nothing else.
        if (me.value("state", "") == "closed" && ex->path != "/reopen") return ex->redirect("/reopen");
        if (stage == "enrol" && enrolment != Enrolment::this_page) return ex->redirect("/totp");
        ex->address = me.value("address", "");
        then(me);
    });
}

}  // namespace vmx::portal
