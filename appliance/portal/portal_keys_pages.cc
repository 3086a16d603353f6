// Security keys and passkeys (WebAuthn): the page that lists, registers and removes them, and the
// second factor by key at sign-in. The browser's part is /static/webauthn.js (no inline script):
// it asks for the ceremony's options (a POST with the form's CSRF token, answered in JSON), runs
// navigator.credentials.create() or .get(), and sends the answer in an ordinary form POST. The
// daemon makes the challenges and verifies the answers; the portal names the origin and relying
// party id from the Host the browser used (see portal_app.h).
#include <fmt/format.h>

#include "appliance/portal/html.h"
#include "appliance/portal/portal_app.h"

namespace vmx::portal {
namespace {

// The Host the browser used, as origin and relying party id ("localhost:8443" -> "https://localhost:8443", "localhost").
Fields relying_fields(const ExchangePtr& ex) {
    const std::string host(ex->request.field("host").value_or(""));
    const std::size_t colon = host.rfind(':');
    const std::string rp_id = host.starts_with('[') || colon == std::string::npos ? host : host.substr(0, colon);
    return {{"origin", "https://" + host}, {"rp_id", rp_id}};
}

void json_answer(const ExchangePtr& ex, const DaemonReply& reply) {
    http::Response r;
    r.status = reply.status == DaemonStatus::ok ? 200 : 400;
    r.headers.emplace_back("Content-Type", "application/json");
    r.body = reply.status == DaemonStatus::ok ? reply.text : nlohmann::json{{"error", reply.text}}.dump();
    PortalApp::add_security_headers(r);
    ex->respond(std::move(r));
}

void keys_page(const ExchangePtr& ex, std::string_view notice, bool problem) {
    ask(ex, "keys", {}, [ex, notice = std::string(notice), problem](const DaemonReply& reply) {
        const nlohmann::json keys = json_of(reply);
        std::string rows;
        if (keys.is_array())
            for (const auto& k : keys)
                rows += fmt::format(
                    R"(<tr><td>{}</td><td>{}</td><td>{}</td><td><form method="post" action="/security-keys/remove" class="inline">{})"
                    R"(<input type="hidden" name="label" value="{}"><button type="submit">Remove</button></form></td></tr>)",
                    escape_html(text_of(k, "label")), escape_html(text_of(k, "created")),
                    escape_html(k.contains("last_used") && k["last_used"].is_string() ? k["last_used"].get<std::string>() : "never"),
                    csrf_input(ex->csrf()), escape_html(text_of(k, "label")));
        std::string body;
        if (!notice.empty()) body += fmt::format(R"(<p class="{}">{}</p>)", problem ? "problem" : "notice", escape_html(notice));
        body += fmt::format(
            R"(<p>A security key or a passkey on your phone or computer can stand in for the code at sign-in.</p>)"
            R"(<table class="security-keys"><thead><tr><th>Name</th><th>Added</th><th>Last used</th><th></th></tr></thead><tbody>{}</tbody></table>)"
            R"(<form method="post" action="/security-keys" id="register-key">{})"
            R"(<label for="key-label">Name (for example: yubikey)</label><input type="text" id="key-label" name="label" maxlength="64" pattern="[A-Za-z0-9._-]+" required>)"
            R"(<input type="hidden" name="client_data"><input type="hidden" name="attestation">)"
            R"(<button type="submit" id="register-key-button">Add a security key</button></form>)"
            R"(<p class="problem" id="key-error" hidden></p><script src="/static/webauthn.js"></script>)",
            rows, csrf_input(ex->csrf()));
        ex->page("Security keys", body);
    });
}

}  // namespace

void get_security_keys(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) { keys_page(ex, {}, false); }, Enrolment::this_page);
}

void post_security_keys_begin(const ExchangePtr& ex) {
    ask(ex, "key-register-begin", relying_fields(ex), [ex](const DaemonReply& reply) { json_answer(ex, reply); });
}

void post_security_keys(const ExchangePtr& ex) {
    Fields fields = relying_fields(ex);
    for (const char* name : {"label", "client_data", "attestation"}) fields.emplace_back(name, ex->field(name));
    ask(ex, "key-register-finish", std::move(fields), [ex](const DaemonReply& reply) {
        const bool added = reply.status == DaemonStatus::ok;
        signed_in(ex, [ex, added, text = reply.text](const nlohmann::json&) {
            keys_page(ex, added ? "The security key was added." : text, !added);
        }, Enrolment::this_page);
    });
}

void post_security_keys_remove(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        ask(ex, "key-remove", {{"label", ex->field("label")}}, [ex](const DaemonReply& reply) {
            keys_page(ex, reply.status == DaemonStatus::ok ? "Removed." : reply.text, reply.status != DaemonStatus::ok);
        });
    });
}

void post_login_key_begin(const ExchangePtr& ex) {
    ask(ex, "key-login-begin", relying_fields(ex), [ex](const DaemonReply& reply) { json_answer(ex, reply); });
}

void post_login_key(const ExchangePtr& ex) {
    Fields fields = relying_fields(ex);
    for (const char* name : {"id", "client_data", "authenticator_data", "signature"}) fields.emplace_back(name, ex->field(name));
    ask(ex, "key-login-finish", std::move(fields), [ex](const DaemonReply& reply) {
        // A refusal goes back to the second-factor form, which says so.
        ex->redirect(reply.status == DaemonStatus::ok ? "/security" : "/login");
    });
}

}  // namespace vmx::portal
