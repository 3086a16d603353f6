// The security centre (login history with failures, live sessions of every protocol with "log out
// this device" and "log out everywhere", the support reveals of the user's mail) and the password
// change (see portal_app.h).
#include <fmt/format.h>

#include "appliance/portal/html.h"
#include "appliance/portal/portal_app.h"

namespace vmx::portal {
namespace {

std::string sessions_html(const ExchangePtr& ex, const nlohmann::json& sessions) {
    std::string rows;
    for (const auto& s : sessions) {
        if (!s.is_object()) continue;
        const bool current = s.value("current", false);
        const std::string action =
            current ? std::string("this device")
                    : fmt::format(R"(<form method="post" action="/sessions/end" class="inline">{}<input type="hidden" name="id" value="{}">)"
                                  R"(<button type="submit">Log out this device</button></form>)",
                                  csrf_input(ex->csrf()), escape_html(text_of(s, "id")));
        rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                            escape_html(text_of(s, "protocol")), escape_html(text_of(s, "client_ip")),
                            escape_html(text_of(s, "tls")), escape_html(text_of(s, "started")), action);
    }
    return fmt::format(R"(<h3>Signed in now</h3><table class="sessions"><thead><tr><th>Protocol</th><th>Address</th><th>TLS</th>)"
                       R"(<th>Since</th><th></th></tr></thead><tbody>{}</tbody></table>)"
                       R"(<form method="post" action="/sessions/end-all">{}<button type="submit">Log out everywhere</button></form>)",
                       rows, csrf_input(ex->csrf()));
}

// Newest first. Support reveals are listed apart: they are not sign-ins, and the user must see them.
std::string history_html(const nlohmann::json& history) {
    std::string rows;
    std::string reveals;
    for (auto it = history.rbegin(); it != history.rend(); ++it) {
        const auto& e = *it;
        if (!e.is_object()) continue;
        const std::string result = text_of(e, "result");
        if (result == "support_reveal") {
            reveals += fmt::format("<tr><td>{}</td><td>{}</td></tr>", escape_html(text_of(e, "time")),
                                   escape_html(text_of(e, "note")));
            continue;
        }
        const bool failed = result != "success";
        rows += fmt::format(R"(<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>)",
                            failed ? R"( class="failure")" : "", escape_html(text_of(e, "time")),
                            failed ? "failed" : "signed in", escape_html(text_of(e, "protocol")),
                            escape_html(text_of(e, "method")), escape_html(text_of(e, "client_ip")),
                            failed ? escape_html(text_of(e, "reason")) : std::string());
    }
    std::string out = fmt::format(
        R"(<h3>Sign-in history</h3><table class="history"><thead><tr><th>When</th><th>Result</th><th>Protocol</th>)"
        R"(<th>Method</th><th>Address</th><th>Why it failed</th></tr></thead><tbody>{}</tbody></table>)",
        rows);
    out += reveals.empty() ? std::string("<h3>Support access</h3><p>Support staff have not viewed your mail.</p>")
                           : fmt::format(R"(<h3>Support access</h3><p>Support staff viewed your mail in clear:</p>)"
                                         R"(<table class="reveals"><thead><tr><th>When</th><th>Reason given</th></tr></thead>)"
                                         R"(<tbody>{}</tbody></table>)",
                                         reveals);
    return out;
}

}  // namespace

void get_security(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json& me) {
        ask(ex, "sessions", {}, [ex, me](const DaemonReply& sessions) {
            ask(ex, "history", {}, [ex, me, live = json_of(sessions)](const DaemonReply& history) {
                const nlohmann::json events = json_of(history);
                std::string body = fmt::format(
                    R"(<p>Signed in as <strong>{}</strong> ({} plan). This session ends at {} UTC at the latest.</p>)",
                    escape_html(me.value("address", "")), escape_html(me.value("plan", "")),
                    escape_html(me.value("ends", "")));
                body += sessions_html(ex, live.is_array() ? live : nlohmann::json::array());
                body += history_html(events.is_array() ? events : nlohmann::json::array());
                ex->page("Security", body);
            });
        });
    });
}

void post_end_session(const ExchangePtr& ex) {
    ask(ex, "end-session", {{"id", ex->field("id")}}, [ex](const DaemonReply&) { ex->redirect("/security"); });
}

void post_logout_everywhere(const ExchangePtr& ex) {
    ask(ex, "logout-everywhere", {}, [ex](const DaemonReply&) {
        ex->redirect("/login", {session_cookie_value(session_cookie, "", true)});
    });
}

namespace {

void password_page(const ExchangePtr& ex, std::string_view notice, bool problem) {
    std::string body;
    if (!notice.empty()) body += fmt::format(R"(<p class="{}">{}</p>)", problem ? "problem" : "notice", escape_html(notice));
    body += fmt::format(
        R"(<form method="post" action="/password">{})"
        R"(<label for="current">Current password</label><input type="password" id="current" name="current" autocomplete="current-password" required>)"
        R"(<label for="new">New password</label><input type="password" id="new" name="new" autocomplete="new-password" minlength="10" required>)"
        R"(<label for="again">New password again</label><input type="password" id="again" name="again" autocomplete="new-password" required>)"
        R"(<button type="submit">Change password</button></form>)",
        csrf_input(ex->csrf()));
    ex->page("Password", body);
}

}  // namespace

void get_password(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) { password_page(ex, {}, false); });
}

void post_password(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        const std::string current = ex->field("current");
        const std::string fresh = ex->field("new");
        if (fresh != ex->field("again")) return password_page(ex, "The new passwords are not the same.", true);
        if (fresh.size() < 10) return password_page(ex, "The new password needs at least 10 characters.", true);
        if (fresh.find('\n') != std::string::npos || current.find('\n') != std::string::npos)
            return password_page(ex, "A password cannot hold a line break.", true);
        ask(ex, "passwd", {}, [ex](const DaemonReply& reply) {
            if (reply.status == DaemonStatus::ok) return password_page(ex, "Your password was changed.", false);
            if (reply.text == "bad credentials") return password_page(ex, "The current password is not right.", true);
            password_page(ex, reply.text, true);
        }, current + "\n" + fresh);
    });
}

}  // namespace vmx::portal
