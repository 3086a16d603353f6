// The portal's web application: one table of routes (method, path, whether a session is needed),
// the security headers on every response, the session cookie, CSRF tokens, and the checks every
// state change passes (POST only, same origin, the form's token). Pages ask the daemon for
// everything (DaemonLink): the portal keeps no user data, only a per-process key for its CSRF
// tokens. Shard thread only; one PortalApp per shard.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "appliance/portal/daemon_link.h"
#include "net/http/request.h"
#include "net/http/response.h"

namespace vmx::portal {

inline constexpr char session_cookie[] = "__Host-vmx_session";
inline constexpr char presession_cookie[] = "__Host-vmx_pre";  // binds the sign-in form's CSRF token

struct PortalOptions {
    std::uint16_t https_port = 443;         // for the redirect listener's Location
    std::size_t form_fields_max = 16;
    std::size_t form_value_bytes_max = 4096;
};

using Respond = std::function<void(http::Response)>;

// A body that comes in pieces (a download too large for one answer): the connection asks for the
// next piece once the browser has taken most of the one before. `give` gets the piece, or nothing
// when it cannot come (the connection then closes: its Content-Length promised more). Shard thread.
class BodySource {
public:
    virtual ~BodySource() = default;
    virtual void next(std::function<void(std::optional<std::string>)> give) = 0;
};
// Such an answer: the head (its body empty), the body's length in all, and where its pieces come from.
using RespondStream = std::function<void(http::Response head, std::uint64_t body_bytes, std::shared_ptr<BodySource> body)>;

class PortalApp;

// One request being answered: what the pages read, and how they answer. Shared by the callbacks
// that wait on the daemon; `respond` is called once.
struct Exchange {
    PortalApp& app;
    http::Request request;
    std::string path;
    std::string client_ip;
    std::string tls_version;
    std::uint32_t shard = 0;
    std::string token;                                     // the session cookie, or empty
    std::vector<std::pair<std::string, std::string>> form; // a POST's fields
    Respond respond;
    std::string address;                                   // who is signed in, once known (the frame shows it)
    RespondStream respond_stream;                          // empty: no body in pieces here (stream() refuses)

    std::string field(std::string_view name) const;        // a form field, or empty
    std::string csrf() const;                              // the session's form token
    // A page: HTML in the frame. signed_in adds navigation and the sign-out form; refresh_s > 0
    // makes the browser load it again after that many seconds (no script: a meta refresh).
    void page(std::string_view title, std::string_view body_html, bool signed_in = true, int status = 200,
              std::uint32_t refresh_s = 0);
    // An answer whose body of body_bytes comes from `body` in pieces, after `head` (security headers added).
    void stream(http::Response head, std::uint64_t body_bytes, std::shared_ptr<BodySource> body);
    void redirect(std::string_view location, std::vector<std::string> cookies = {});
    void error(int status, std::string_view message);
};
using ExchangePtr = std::shared_ptr<Exchange>;

using Fields = std::vector<std::pair<std::string, std::string>>;
// The daemon, for this session (the token goes with every request); a signed-out answer sends the
// browser to /login, an unreachable daemon to an error page; `done` sees ok and refused only.
void ask(const ExchangePtr& ex, std::string command, Fields fields, std::function<void(DaemonReply)> done,
         std::string secret = {});
// The session's user (the daemon's whoami, parsed), for a page that needs a full sign-in: a session
// still owing its second factor goes to /login, one that must enrol first to /totp (unless
// `enrolment` says this is that page).
enum class Enrolment : std::uint8_t { elsewhere, this_page };
void signed_in(const ExchangePtr& ex, std::function<void(const nlohmann::json& me)> then,
               Enrolment enrolment = Enrolment::elsewhere);
// The JSON of an ok answer, or a discarded value.
nlohmann::json json_of(const DaemonReply& reply);
// A string member of a JSON object from the daemon, or empty (absent, or not a string).
std::string text_of(const nlohmann::json& item, const char* key);

class PortalApp {
public:
    PortalApp(DaemonLink& daemon, PortalOptions options);

    // Answers one parsed request; `respond` (or, for a body in pieces, `respond_stream`) may run now
    // or after the daemon answered.
    void handle(http::Request request, std::string client_ip, std::string tls_version, std::uint32_t shard,
                Respond respond, RespondStream respond_stream = {});

    DaemonLink& daemon() noexcept { return daemon_; }
    const PortalOptions& options() const noexcept { return options_; }
    // HMAC of `what` under the process key, 32 hex digits (CSRF tokens).
    std::string mac(std::string_view purpose, std::string_view what) const;
    // The response with every security header (and Cache-Control: no-store unless it is a static asset).
    static void add_security_headers(http::Response& response, bool cacheable = false);

private:
    bool same_origin(const http::Request& request) const;
    void route(const ExchangePtr& ex);

    DaemonLink& daemon_;
    PortalOptions options_;
    std::array<std::uint8_t, 32> key_{};
};

// The value of the request's cookie `name`, or empty.
std::string cookie_of(const http::Request& request, std::string_view name);

// A cookie header value for the session (or its removal): __Host-, Secure, HttpOnly, SameSite=Strict.
std::string session_cookie_value(std::string_view name, std::string_view value, bool remove = false);

// The pages, by area (portal_*_pages.cc); each is a route's handler.
void get_login(const ExchangePtr& ex);
void post_login(const ExchangePtr& ex);
void post_login_code(const ExchangePtr& ex);
void post_logout(const ExchangePtr& ex);
void get_security(const ExchangePtr& ex);
void post_end_session(const ExchangePtr& ex);
void post_logout_everywhere(const ExchangePtr& ex);
void get_password(const ExchangePtr& ex);
void post_password(const ExchangePtr& ex);
void get_app_passwords(const ExchangePtr& ex);
void post_app_password_add(const ExchangePtr& ex);
void post_app_password_revoke(const ExchangePtr& ex);
void get_totp(const ExchangePtr& ex);
void post_totp_confirm(const ExchangePtr& ex);
void post_totp_disable(const ExchangePtr& ex);
void get_trash(const ExchangePtr& ex);
void post_trash_restore(const ExchangePtr& ex);
void get_export(const ExchangePtr& ex);
void post_export_prepare(const ExchangePtr& ex);
void post_export_download(const ExchangePtr& ex);
void post_export_discard(const ExchangePtr& ex);
void get_close(const ExchangePtr& ex);
void get_reopen(const ExchangePtr& ex);
void post_reopen(const ExchangePtr& ex);
void get_security_keys(const ExchangePtr& ex);
void post_security_keys_begin(const ExchangePtr& ex);
void post_security_keys(const ExchangePtr& ex);
void post_security_keys_remove(const ExchangePtr& ex);
void post_login_key_begin(const ExchangePtr& ex);
void post_login_key(const ExchangePtr& ex);
void post_close(const ExchangePtr& ex);

}  // namespace vmx::portal
