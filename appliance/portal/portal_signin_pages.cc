// Sign-in and sign-out: the password form, the second-factor form, sign-out (see portal_app.h).
// Before sign-in the form's CSRF token is bound to a random pre-session cookie; the session cookie
// is set only once the daemon has accepted the password, and cleared at sign-out.
#include <fmt/format.h>

#include "appliance/portal/html.h"
#include "appliance/portal/portal_app.h"
#include "core/hex_text.h"
#include "crypto/random.h"

namespace vmx::portal {
namespace {

std::string problem_html(std::string_view problem) {
    return problem.empty() ? std::string() : fmt::format(R"(<p class="problem">{}</p>)", escape_html(problem));
}

// The password form. A visitor without the pre-session cookie gets a fresh one with it.
void password_form(const ExchangePtr& ex, std::string_view problem, int status = 200) {
    // The browser's pre-session cookie when it has a sound one (two open tabs both work), else a new one.
    std::string pre = cookie_of(ex->request, presession_cookie);
    if (pre.size() != 32 || pre.find_first_not_of("0123456789abcdef") != std::string::npos) {
        std::array<std::uint8_t, 16> raw{};
        if (!crypto::random_bytes(raw)) return ex->error(503, "Try again in a moment.");
        pre = hex_of(raw);
    }
    const std::string body = fmt::format(
        R"({}<form method="post" action="/login">{})"
        R"(<label for="username">Email address</label><input type="email" id="username" name="username" autocomplete="username" required autofocus>)"
        R"(<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>)"
        R"(<label for="session_s">Stay signed in for</label><select id="session_s" name="session_s">)"
        R"(<option value="900">15 minutes</option><option value="3600">1 hour</option>)"
        R"(<option value="28800" selected>8 hours</option><option value="604800">7 days</option></select>)"
        R"(<p class="hint">Never longer than your organisation allows.</p>)"
        R"(<button type="submit">Sign in</button></form>)",
        problem_html(problem), csrf_input(ex->app.mac("pre", pre)));
    http::Response r;
    r.status = status;
    r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
    r.headers.emplace_back("Set-Cookie", session_cookie_value(presession_cookie, pre));
    r.body = render_page(PageFrame{"Sign in", false, {}, {}}, body);
    PortalApp::add_security_headers(r);
    ex->respond(std::move(r));
}

// The second factor: a code from the authenticator app (when one is enrolled) and a security key
// (when one is registered; it needs the script).
void code_form(const ExchangePtr& ex, std::string_view problem, const nlohmann::json& me) {
    std::string body = problem_html(problem);
    if (me.value("totp", false))
        body += fmt::format(
            R"(<p>Enter the six-digit code from your authenticator app.</p><form method="post" action="/login/code">{})"
            R"(<label for="totp">Code</label><input type="text" id="totp" name="totp" inputmode="numeric" pattern="[0-9]{{6}}" )"
            R"(maxlength="6" autocomplete="one-time-code" required autofocus><button type="submit">Continue</button></form>)",
            csrf_input(ex->csrf()));
    if (me.value("keys", 0) > 0)
        body += fmt::format(
            R"(<form method="post" action="/login/key" id="key-login">{}<input type="hidden" name="id"><input type="hidden" name="client_data">)"
            R"(<input type="hidden" name="authenticator_data"><input type="hidden" name="signature">)"
            R"(<button type="submit" id="key-login-button">Use your security key</button></form>)"
            R"(<p class="problem" id="key-error" hidden></p><script src="/static/webauthn.js"></script>)",
            csrf_input(ex->csrf()));
    body += fmt::format(R"(<form method="post" action="/logout">{}<button type="submit">Cancel</button></form>)", csrf_input(ex->csrf()));
    ex->page("Two-factor sign-in", body, false);
}

}  // namespace

// A browser with a session that still owes its code gets the code form; one fully signed in goes
// on; anyone else gets the password form.
void get_login(const ExchangePtr& ex) {
    if (ex->token.empty()) return password_form(ex, {});
    DaemonRequest whoami{"whoami", {{"token", ex->token}}, {}};
    ex->app.daemon().call(ex->shard, std::move(whoami), [ex](const DaemonReply& reply) {
        const nlohmann::json me = json_of(reply);
        if (reply.status != DaemonStatus::ok || !me.is_object()) return password_form(ex, {});
        const std::string stage = me.value("stage", "");
        if (stage == "second_factor") return code_form(ex, {}, me);
        ex->redirect(stage == "enrol" ? "/totp" : "/security");
    });
}

void post_login(const ExchangePtr& ex) {
    const std::string username = ex->field("username");
    std::string password = ex->field("password");
    if (username.empty() || password.empty()) return password_form(ex, "Enter your address and password.");
    DaemonRequest login{"login", {{"username", username}, {"client_ip", ex->client_ip}, {"tls", ex->tls_version}},
                        std::move(password)};
    if (const std::string asked = ex->field("session_s"); !asked.empty()) login.fields.emplace_back("session_s", asked);
    ex->app.daemon().call(ex->shard, std::move(login), [ex](const DaemonReply& reply) {
        const nlohmann::json answer = json_of(reply);
        if (reply.status == DaemonStatus::refused) return password_form(ex, "Wrong address or password.");
        if (reply.status != DaemonStatus::ok || !answer.is_object() || !answer.contains("token"))
            return password_form(ex, "The mail system did not answer. Try again in a moment.", 503);
        const std::string token = answer.value("token", "");
        const std::string stage = answer.value("stage", "");
        std::vector<std::string> cookies{session_cookie_value(session_cookie, token),
                                         session_cookie_value(presession_cookie, "", true)};
        const std::string code = ex->field("totp");
        if (stage != "second_factor" || code.empty())
            return ex->redirect(stage == "second_factor" ? "/login" : stage == "enrol" ? "/totp" : "/security",
                                std::move(cookies));
        // A client that sent the code with the password (one form): the second factor at once. A
        // wrong code leaves the session owing it, on the code form.
        ex->token = token;
        ask(ex, "second-factor", {{"code", code}}, [ex, cookies = std::move(cookies)](const DaemonReply& factor) mutable {
            ex->redirect(factor.status == DaemonStatus::ok ? "/security" : "/login", std::move(cookies));
        });
    });
}

void post_login_code(const ExchangePtr& ex) {
    ask(ex, "second-factor", {{"code", ex->field("totp")}}, [ex](const DaemonReply& reply) {
        if (reply.status == DaemonStatus::ok) return ex->redirect("/security");
        ask(ex, "whoami", {}, [ex](const DaemonReply& who) {
            const nlohmann::json me = json_of(who);
            if (who.status != DaemonStatus::ok || !me.is_object()) return ex->redirect("/login");
            code_form(ex, "That code is not right. Codes change every 30 seconds.", me);
        });
    });
}

void post_logout(const ExchangePtr& ex) {
    ask(ex, "logout", {}, [ex](const DaemonReply&) {
        ex->redirect("/login", {session_cookie_value(session_cookie, "", true)});
    });
}

}  // namespace vmx::portal
