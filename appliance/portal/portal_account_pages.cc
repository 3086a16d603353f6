// The account's own settings: app passwords (created and shown once, revoked), two-factor sign-in
// (enrolment with a QR code, confirmed by a code; removal with a code), deleted mail (restore within
// the retention) and closure (see portal_app.h); the export has its own page (portal_export_pages.cc).
#include <fmt/format.h>

#include <algorithm>

#include "appliance/portal/html.h"
#include "appliance/portal/portal_app.h"
#include "appliance/portal/qr_svg.h"

namespace vmx::portal {
namespace {

std::string notice_html(std::string_view notice, bool problem) {
    if (notice.empty()) return {};
    return fmt::format(R"(<p class="{}">{}</p>)", problem ? "problem" : "notice", escape_html(notice));
}

// "app password for ADDRESS (LABEL): PASSWORD\n...": the last word of the first line.
std::string shown_password(std::string_view text) {
    const std::string_view line = text.substr(0, std::min(text.size(), text.find('\n')));
    const std::size_t space = line.rfind(' ');
    return std::string(space == std::string_view::npos ? line : line.substr(space + 1));
}

void app_passwords_page(const ExchangePtr& ex, std::string notice_html_text) {
    ask(ex, "app-passwords", {}, [ex, notice = std::move(notice_html_text)](const DaemonReply& reply) {
        const nlohmann::json list = json_of(reply);
        std::string rows;
        if (list.is_array())
            for (const auto& a : list)
                rows += fmt::format(
                    R"(<tr><td>{}</td><td>{}</td><td><form method="post" action="/app-passwords/revoke" class="inline">{})"
                    R"(<input type="hidden" name="label" value="{}"><button type="submit">Revoke</button></form></td></tr>)",
                    escape_html(text_of(a, "label")), escape_html(text_of(a, "created")), csrf_input(ex->csrf()),
                    escape_html(text_of(a, "label")));
        const std::string body = fmt::format(
            R"({}<p>Mail programs sign in with an app password of their own; revoke one and only that program stops.</p>)"
            R"(<table class="app-passwords"><thead><tr><th>Name</th><th>Created</th><th></th></tr></thead><tbody>{}</tbody></table>)"
            R"(<form method="post" action="/app-passwords">{}<label for="label">Name (for example: phone)</label>)"
            R"(<input type="text" id="label" name="label" maxlength="64" pattern="[A-Za-z0-9._-]+" required>)"
            R"(<button type="submit">Create app password</button></form>)",
            notice, rows, csrf_input(ex->csrf()));
        ex->page("App passwords", body);
    });
}

}  // namespace

void get_app_passwords(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) { app_passwords_page(ex, {}); });
}

// The new password is shown in this one answer and never again (the daemon keeps only its hash).
void post_app_password_add(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        ask(ex, "app-password-add", {{"label", ex->field("label")}}, [ex](const DaemonReply& reply) {
            if (reply.status != DaemonStatus::ok) return app_passwords_page(ex, notice_html(reply.text, true));
            const std::string password = shown_password(reply.text);
            app_passwords_page(ex, fmt::format(R"(<div class="notice"><p>Your new app password (shown once; it cannot be shown again):</p>)"
                                               R"(<p class="secret" id="new-app-password">{}</p></div>)",
                                               escape_html(password)));
        });
    });
}

void post_app_password_revoke(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        const std::string label = ex->field("label");
        if (label.empty()) return app_passwords_page(ex, notice_html("Choose one to revoke.", true));
        ask(ex, "app-password-revoke", {{"label", label}}, [ex](const DaemonReply& reply) {
            app_passwords_page(ex, notice_html(reply.status == DaemonStatus::ok ? "Revoked." : reply.text,
                                               reply.status != DaemonStatus::ok));
        });
    });
}

namespace {

void totp_page(const ExchangePtr& ex, const nlohmann::json& me, std::string_view notice, bool problem) {
    const std::string code_input =
        R"(<label for="code">Code</label><input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required>)";
    if (me.value("totp", false)) {
        std::string body = notice_html(notice, problem) + "<p>Two-factor sign-in is on: the portal asks for a code from your authenticator app.</p>";
        if (!me.value("mfa_required", false))
            body += fmt::format(R"(<form method="post" action="/totp/disable">{}{}<button type="submit">Turn off</button></form>)",
                                csrf_input(ex->csrf()), code_input);
        return ex->page("Two-factor sign-in", body);
    }
    if (!me.value("mfa_available", false))
        return ex->page("Two-factor sign-in", "<p>Two-factor sign-in comes with the Pro and Ultimate plans.</p>");
    ask(ex, "totp-begin", {}, [ex, me, notice = std::string(notice), problem, code_input](const DaemonReply& reply) {
        const nlohmann::json enrol = json_of(reply);
        if (reply.status != DaemonStatus::ok || !enrol.is_object()) return ex->error(503, reply.text);
        const std::string uri = text_of(enrol, "uri");
        std::string body = notice_html(notice, problem);
        if (me.value("mfa_required", false))
            body += "<p class=\"notice\">Your organisation requires two-factor sign-in: set it up to go on.</p>";
        body += fmt::format(R"(<p>Scan this code with an authenticator app, or type the key into it, then enter the code it shows.</p>)"
                            R"({}<p>Key: <span class="secret" id="totp-secret">{}</span></p>)"
                            R"(<form method="post" action="/totp/confirm">{}{}<button type="submit">Turn on</button></form>)",
                            qr_svg(uri).value_or(""), escape_html(text_of(enrol, "secret")), csrf_input(ex->csrf()), code_input);
        ex->page("Two-factor sign-in", body);
    });
}

}  // namespace

void get_totp(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json& me) { totp_page(ex, me, {}, false); }, Enrolment::this_page);
}

void post_totp_confirm(const ExchangePtr& ex) {
    ask(ex, "totp-confirm", {{"code", ex->field("code")}}, [ex](const DaemonReply& reply) {
        if (reply.status == DaemonStatus::ok) return ex->redirect("/security");
        signed_in(ex, [ex](const nlohmann::json& me) { totp_page(ex, me, "That code is not right. Scan the new code below.", true); },
                  Enrolment::this_page);
    });
}

void post_totp_disable(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        ask(ex, "totp-disable", {{"code", ex->field("code")}}, [ex](const DaemonReply& reply) {
            signed_in(ex, [ex, reply](const nlohmann::json& me) {
                totp_page(ex, me, reply.status == DaemonStatus::ok ? "Two-factor sign-in is off." : reply.text,
                          reply.status != DaemonStatus::ok);
            });
        });
    });
}

namespace {

void trash_page(const ExchangePtr& ex, std::string_view notice, bool problem) {
    ask(ex, "trash", {{"trash", "1"}}, [ex, notice = std::string(notice), problem](const DaemonReply& reply) {
        const nlohmann::json list = json_of(reply);
        std::string rows;
        if (list.is_array())
            for (const auto& m : list) {
                if (text_of(m, "state") != "trash") continue;
                const std::string id = m.contains("id") && m["id"].is_number_unsigned() ? std::to_string(m["id"].get<std::uint64_t>()) : "";
                const std::string size = m.contains("size") && m["size"].is_number_unsigned() ? std::to_string(m["size"].get<std::uint64_t>()) : "";
                rows += fmt::format(R"(<tr><td>{}</td><td>{}</td><td>{}</td><td><form method="post" action="/trash/restore" class="inline">{})"
                                    R"(<input type="hidden" name="id" value="{}"><button type="submit">Restore</button></form></td></tr>)",
                                    escape_html(text_of(m, "arrival")), escape_html(text_of(m, "deleted")), escape_html(size),
                                    csrf_input(ex->csrf()), escape_html(id));
            }
        const std::string body = fmt::format(
            R"({}<p>Messages deleted from your mailbox stay here for a while and can be brought back.</p>)"
            R"(<table class="trash"><thead><tr><th>Arrived</th><th>Deleted</th><th>Bytes</th><th></th></tr></thead><tbody>{}</tbody></table>)",
            notice_html(notice, problem), rows.empty() ? "<tr><td colspan=\"4\">Nothing was deleted.</td></tr>" : rows);
        ex->page("Deleted mail", body);
    });
}

}  // namespace

void get_trash(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) { trash_page(ex, {}, false); });
}

void post_trash_restore(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        ask(ex, "restore", {{"id", ex->field("id")}}, [ex](const DaemonReply& reply) {
            trash_page(ex, reply.status == DaemonStatus::ok ? "The message is back in your mailbox." : reply.text,
                       reply.status != DaemonStatus::ok);
        });
    });
}

namespace {

void close_page(const ExchangePtr& ex, std::string_view notice) {
    ex->page("Close account", fmt::format(
        R"({}<p>Closing your account signs you out everywhere, refuses new mail and deletes everything after a delay. )"
        R"(Until then you can sign in here again and undo it.</p><form method="post" action="/close">{})"
        R"(<label for="password">Your password, to confirm</label><input type="password" id="password" name="password" autocomplete="current-password" required>)"
        R"(<button type="submit">Close my account</button></form>)",
        notice_html(notice, true), csrf_input(ex->csrf())));
}

}  // namespace

void get_close(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) { close_page(ex, {}); });
}

void post_close(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        ask(ex, "close", {}, [ex](const DaemonReply& reply) {
            const nlohmann::json done = json_of(reply);
            if (reply.status != DaemonStatus::ok || !done.is_object())
            {
                if (reply.text == "bad credentials") return close_page(ex, "The password is not right.");
                return close_page(ex, reply.text);
            }
            http::Response r;
            r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
            r.headers.emplace_back("Set-Cookie", session_cookie_value(session_cookie, "", true));
            r.body = render_page(PageFrame{"Account closed", false, {}, {}},
                                 fmt::format("<p>Your account is closed. Everything in it will be deleted in {} days; "
                                             "until then you can sign in here again to reopen it.</p>",
                                             done.value("purge_days", 0)));
            PortalApp::add_security_headers(r);
            ex->respond(std::move(r));
        }, ex->field("password"));
    });
}

// A closed account's holder, signed in during the delay: what happens, and the way back.
void get_reopen(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json& me) {
        if (me.value("state", "") != "closed") return ex->redirect("/security");
        ex->page("Account closed", fmt::format(
            R"(<p>Your account was closed at {} UTC. It will be deleted {} days after that, with everything in it.</p>)"
            R"(<form method="post" action="/reopen">{}<button type="submit">Reopen my account</button></form>)",
            escape_html(text_of(me, "closed")), me.value("purge_days", 0), csrf_input(ex->csrf())));
    });
}

void post_reopen(const ExchangePtr& ex) {
    ask(ex, "reopen", {}, [ex](const DaemonReply& reply) {
        if (reply.status != DaemonStatus::ok) return ex->error(400, reply.text);
        ex->redirect("/security");
    });
}

}  // namespace vmx::portal
