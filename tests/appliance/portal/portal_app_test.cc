// The portal's web application driven through PortalApp::handle() with requests parsed from raw
// bytes (as its HTTPS listener hands them over) and a scripted daemon: the headers every answer
// carries, routing (303, 404, 405, 400), the checks a state change passes before the daemon hears of
// it (same origin, the form's token), what sign-in sends the daemon, the session cookie, a signed-out
// answer, that text from the daemon is escaped on the page, and the export page's states and its
// download in pieces.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "appliance/portal/portal_app.h"
#include "net/http/request.h"

namespace vmx::portal {
namespace {

const std::string kHost = "portal.example.test";
const std::string kToken(64, 'a');  // the daemon's tokens are 64 hex digits; the portal never reads them
const std::string kClientIp = "198.51.100.7";
const std::string kTls = "TLSv1.3";

// The daemon as the tests script it: call() records the request and keeps `done`; the answers run
// only when the test calls deliver(), in the order the requests came (never inside call(), as
// DaemonLink requires).
class ScriptedDaemon final : public DaemonLink {
public:
    void call(std::uint32_t shard, DaemonRequest request, DaemonDone done) override {
        shards.push_back(shard);
        requests.push_back(std::move(request));
        waiting_.push_back(std::move(done));
    }
    void script(DaemonStatus status, std::string text = {}) { answers_.push_back({status, std::move(text)}); }
    // Answers what waits, and what those answers lead the pages to ask, until the script runs out.
    void deliver() {
        while (!waiting_.empty() && !answers_.empty()) {
            DaemonDone done = std::move(waiting_.front());
            waiting_.pop_front();
            DaemonReply reply = std::move(answers_.front());
            answers_.pop_front();
            done(std::move(reply));
        }
        EXPECT_TRUE(waiting_.empty()) << waiting_.size() << " request(s) left without a scripted answer";
        EXPECT_TRUE(answers_.empty()) << answers_.size() << " scripted answer(s) never asked for";
    }
    std::vector<std::string> commands() const {
        std::vector<std::string> out;
        for (const DaemonRequest& r : requests) out.push_back(r.command);
        return out;
    }

    std::vector<DaemonRequest> requests;
    std::vector<std::uint32_t> shards;

private:
    std::deque<DaemonDone> waiting_;
    std::deque<DaemonReply> answers_;
};

struct Head {
    std::string name;
    std::string value;
};

http::Request parsed(std::string method, std::string target, std::vector<Head> fields, std::string body = {}) {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: " + kHost + "\r\n";
    for (const Head& f : fields) raw += f.name + ": " + f.value + "\r\n";
    if (method == "POST") raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    raw += "\r\n" + body;
    http::Request out;
    const http::ParseResult r = http::parse_request(raw, http::RequestLimits{}, out);
    EXPECT_EQ(r.status, http::ParseStatus::complete) << raw;
    return out;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::vector<std::string> headers_of(const http::Response& r, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& [n, v] : r.headers)
        if (lower(n) == lower(std::string(name))) out.push_back(v);
    return out;
}

std::string header_of(const http::Response& r, std::string_view name) {
    auto all = headers_of(r, name);
    EXPECT_LE(all.size(), 1u) << name;
    return all.empty() ? std::string() : all.front();
}

// The Set-Cookie that sets (or clears) `name`.
std::string cookie_set(const http::Response& r, std::string_view name) {
    for (const std::string& c : headers_of(r, "set-cookie"))
        if (c.starts_with(std::string(name) + "=")) return c;
    return {};
}

// A Set-Cookie's attributes after its name=value, lower-cased.
std::vector<std::string> attributes_of(const std::string& set_cookie) {
    std::vector<std::string> out;
    std::size_t at = set_cookie.find(';');
    while (at != std::string::npos) {
        const std::size_t next = set_cookie.find(';', at + 1);
        std::string a = set_cookie.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
        a.erase(0, a.find_first_not_of(' '));
        out.push_back(lower(a));
        at = next;
    }
    return out;
}

// The first form's token: the hex digits after name="csrf" value=" (no std::regex: g++ 12 warns
// inside it under the sanitizers' -O1).
std::string csrf_in(const std::string& page) {
    constexpr std::string_view marker = R"(name="csrf" value=")";
    const std::size_t at = page.find(marker);
    if (at == std::string::npos) return {};
    const std::size_t start = at + marker.size();
    const std::size_t end = page.find_first_not_of("0123456789abcdef", start);
    if (end == std::string::npos || end == start || page[end] != '"') return {};
    return page.substr(start, end - start);
}

struct PortalAppTest : ::testing::Test {
    // Answers one request; the responses so far are in `sent` (a body in pieces: its head, and `body`).
    void send(http::Request request) {
        app.handle(std::move(request), kClientIp, kTls, 3, [this](http::Response r) { sent.push_back(std::move(r)); },
                   [this](http::Response head, std::uint64_t bytes, std::shared_ptr<BodySource> source) {
                       sent.push_back(std::move(head));
                       download_bytes = bytes;
                       download = std::move(source);
                   });
    }
    // One request answered without the daemon: its response.
    http::Response answer(http::Request request) {
        const std::size_t before = sent.size();
        send(std::move(request));
        EXPECT_EQ(sent.size(), before + 1) << "no immediate answer";
        return sent.empty() ? http::Response{} : sent.back();
    }
    // A form POST from one of our own pages, as a browser sends it.
    http::Request form_post(std::string target, std::string body, std::string cookie,
                            std::vector<Head> extra = {{"Origin", "https://" + kHost}, {"Sec-Fetch-Site", "same-origin"}}) {
        extra.push_back({"Content-Type", "application/x-www-form-urlencoded"});
        if (!cookie.empty()) extra.push_back({"Cookie", cookie});
        return parsed("POST", std::move(target), std::move(extra), std::move(body));
    }
    std::string session_cookie_header() const { return std::string(session_cookie) + "=" + kToken; }
    std::string session_csrf() const { return app.mac("csrf", kToken); }

    ScriptedDaemon daemon;
    PortalApp app{daemon, PortalOptions{}};
    std::vector<http::Response> sent;
    std::uint64_t download_bytes = 0;
    std::shared_ptr<BodySource> download;
};

void expect_security_headers(const http::Response& r, bool stylesheet = false) {
    SCOPED_TRACE("status " + std::to_string(r.status));
    EXPECT_NE(header_of(r, "strict-transport-security").find("max-age=31536000"), std::string::npos);
    const std::string csp = header_of(r, "content-security-policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    EXPECT_EQ(header_of(r, "x-frame-options"), "DENY");
    EXPECT_EQ(header_of(r, "x-content-type-options"), "nosniff");
    EXPECT_EQ(header_of(r, "referrer-policy"), "no-referrer");
    if (stylesheet)
        EXPECT_NE(header_of(r, "cache-control"), "no-store");
    else
        EXPECT_EQ(header_of(r, "cache-control"), "no-store");
    for (const auto& [name, value] : r.headers) EXPECT_FALSE(lower(name).starts_with("access-control-")) << name;
}

TEST_F(PortalAppTest, EveryAnswerCarriesTheSecurityHeaders) {
    const std::string cookie = session_cookie_header();
    std::vector<http::Response> immediate = {
        answer(parsed("GET", "/", {})),
        answer(parsed("GET", "/login", {})),
        answer(parsed("GET", "/no-such-page", {})),
        answer(parsed("OPTIONS", "/login", {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}})),
        answer(parsed("GET", "/a/../login", {})),
        answer(parsed("GET", "/security", {})),
        answer(form_post("/logout", "csrf=" + session_csrf(), cookie, {{"Origin", "https://evil.example"}})),
        answer(form_post("/logout", "csrf=0", cookie)),
    };
    for (const http::Response& r : immediate) expect_security_headers(r);
    expect_security_headers(answer(parsed("GET", "/static/portal.css", {})), true);

    // Answers that waited on the daemon: a page, a redirect, an error.
    daemon.script(DaemonStatus::ok, R"({"address":"ann@example.test","stage":"full","plan":"pro","totp":false})");
    daemon.script(DaemonStatus::ok, "[]");
    send(parsed("GET", "/app-passwords", {{"Cookie", cookie}}));
    daemon.deliver();
    daemon.script(DaemonStatus::signed_out, "signed out");
    send(parsed("GET", "/security", {{"Cookie", cookie}}));
    daemon.deliver();
    daemon.script(DaemonStatus::unreachable);
    send(parsed("GET", "/password", {{"Cookie", cookie}}));
    daemon.deliver();
    ASSERT_EQ(sent.size(), immediate.size() + 1 + 3);
    EXPECT_EQ(sent[sent.size() - 3].status, 200);
    EXPECT_EQ(sent[sent.size() - 2].status, 303);
    EXPECT_EQ(sent[sent.size() - 1].status, 503);
    for (std::size_t i = sent.size() - 3; i < sent.size(); ++i) expect_security_headers(sent[i]);
}

TEST_F(PortalAppTest, RootSendsToSignInOrToTheSecurityPage) {
    http::Response r = answer(parsed("GET", "/", {}));
    EXPECT_EQ(r.status, 303);
    EXPECT_EQ(header_of(r, "location"), "/login");
    r = answer(parsed("GET", "/", {{"Cookie", session_cookie_header()}}));
    EXPECT_EQ(r.status, 303);
    EXPECT_EQ(header_of(r, "location"), "/security");
    // A page that needs a session, without one: to sign-in, and the daemon is not asked.
    r = answer(parsed("GET", "/security", {}));
    EXPECT_EQ(r.status, 303);
    EXPECT_EQ(header_of(r, "location"), "/login");
    EXPECT_TRUE(daemon.requests.empty());
}

TEST_F(PortalAppTest, UnknownPathsAre404) {
    for (const char* target : {"/nope", "/login/", "/LOGIN", "/static/other.css", "/security.html"}) {
        SCOPED_TRACE(target);
        EXPECT_EQ(answer(parsed("GET", target, {{"Cookie", session_cookie_header()}})).status, 404);
    }
    EXPECT_TRUE(daemon.requests.empty());
}

TEST_F(PortalAppTest, OptionsAndTheWrongMethodAre405) {
    const std::string cookie = session_cookie_header();
    EXPECT_EQ(answer(parsed("OPTIONS", "/login", {{"Origin", "https://evil.example"}})).status, 405);
    EXPECT_EQ(answer(parsed("OPTIONS", "/sessions/end", {{"Cookie", cookie}})).status, 405);
    EXPECT_EQ(answer(parsed("GET", "/logout", {{"Cookie", cookie}})).status, 405);
    EXPECT_EQ(answer(parsed("GET", "/sessions/end", {{"Cookie", cookie}})).status, 405);
    EXPECT_EQ(answer(parsed("GET", "/login/code", {{"Cookie", cookie}})).status, 405);
    EXPECT_EQ(answer(parsed("DELETE", "/security", {{"Cookie", cookie}})).status, 405);
    EXPECT_EQ(answer(form_post("/security", "csrf=" + session_csrf(), cookie)).status, 405);
    EXPECT_TRUE(daemon.requests.empty());
}

TEST_F(PortalAppTest, AStateChangeFromAnotherSiteIsRefused) {
    const std::string cookie = session_cookie_header();
    const std::string body = "csrf=" + session_csrf();
    const std::vector<std::vector<Head>> foreign = {
        {{"Origin", "https://evil.example"}},
        {{"Origin", "http://" + kHost}},                      // not over HTTPS
        {{"Origin", "https://" + kHost + ".evil.example"}},
        {{"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}},  // an opaque origin from elsewhere
        {{"Sec-Fetch-Site", "cross-site"}},
        {{"Sec-Fetch-Site", "same-site"}},                   // a sibling host is another origin
        {{"Origin", "https://" + kHost}, {"Sec-Fetch-Site", "cross-site"}},
    };
    for (const auto& heads : foreign) {
        SCOPED_TRACE(heads.front().name + ": " + heads.front().value);
        EXPECT_EQ(answer(form_post("/logout", body, cookie, heads)).status, 403);
        EXPECT_EQ(answer(form_post("/sessions/end-all", body, cookie, heads)).status, 403);
    }
    EXPECT_TRUE(daemon.requests.empty());
    // The same form from our own page goes through; so does one whose Origin is "null", what a
    // browser sends for a form on a page with Referrer-Policy no-referrer (ours): the token decides.
    daemon.script(DaemonStatus::ok, R"({"ended":true})");
    send(form_post("/logout", body, cookie));
    daemon.deliver();
    EXPECT_EQ(daemon.commands(), std::vector<std::string>{"logout"});
    EXPECT_EQ(sent.back().status, 303);
    daemon.script(DaemonStatus::ok, R"({"ended":true})");
    send(form_post("/logout", body, cookie, {{"Origin", "null"}, {"Sec-Fetch-Site", "same-origin"}}));
    daemon.deliver();
    EXPECT_EQ(sent.back().status, 303);
}

TEST_F(PortalAppTest, AFormWithoutItsTokenIsRefusedBeforeTheDaemonHearsOfIt) {
    const std::string cookie = session_cookie_header();
    const std::string other_session = app.mac("csrf", std::string(64, 'b'));
    for (const std::string& body : {std::string("id=p1"), std::string("id=p1&csrf="), "id=p1&csrf=" + other_session,
                                    "id=p1&csrf=" + session_csrf().substr(1), "id=p1&csrf=" + app.mac("pre", kToken)}) {
        SCOPED_TRACE(body);
        EXPECT_EQ(answer(form_post("/sessions/end", body, cookie)).status, 403);
    }
    // Before sign-in the token is bound to the pre-session cookie.
    const std::string pre = std::string(presession_cookie) + "=" + std::string(32, 'c');
    const std::string login = "username=ann%40example.test&password=secret";
    EXPECT_EQ(answer(form_post("/login", login, "")).status, 403);
    EXPECT_EQ(answer(form_post("/login", login + "&csrf=", "")).status, 403);
    EXPECT_EQ(answer(form_post("/login", login, pre)).status, 403);
    EXPECT_EQ(answer(form_post("/login", login + "&csrf=" + app.mac("pre", std::string(32, 'd')), pre)).status, 403);
    EXPECT_EQ(answer(form_post("/login", login + "&csrf=" + app.mac("csrf", std::string(32, 'c')), pre)).status, 403);
    EXPECT_TRUE(daemon.requests.empty());
    // Only forms: a JSON body with the right token is not one.
    const std::string right = "csrf=" + session_csrf();
    EXPECT_EQ(answer(parsed("POST", "/logout", {{"Cookie", cookie}, {"Content-Type", "application/json"}}, right)).status, 415);
    EXPECT_TRUE(daemon.requests.empty());
}

TEST_F(PortalAppTest, SignInSendsOneLoginWithThePasswordAsTheSecret) {
    const http::Response form = answer(parsed("GET", "/login", {}));
    ASSERT_EQ(form.status, 200);
    const std::string pre = cookie_set(form, presession_cookie);
    ASSERT_FALSE(pre.empty());
    const std::string pre_pair = pre.substr(0, pre.find(';'));
    const std::string csrf = csrf_in(form.body);
    ASSERT_EQ(csrf.size(), 32u);
    EXPECT_TRUE(daemon.requests.empty());

    daemon.script(DaemonStatus::ok, R"({"token":")" + kToken + R"(","stage":"full"})");
    send(form_post("/login", "csrf=" + csrf + "&username=ann%40example.test&password=correct+horse%26battery", pre_pair));
    ASSERT_EQ(daemon.requests.size(), 1u);
    EXPECT_EQ(sent.size(), 1u) << "answered before the daemon did";
    const DaemonRequest& login = daemon.requests[0];
    EXPECT_EQ(login.command, "login");
    const std::vector<std::pair<std::string, std::string>> fields = {
        {"username", "ann@example.test"}, {"client_ip", kClientIp}, {"tls", kTls}};
    EXPECT_EQ(login.fields, fields);  // no token, no password, no csrf
    EXPECT_EQ(login.secret, "correct horse&battery");
    EXPECT_EQ(daemon.shards, std::vector<std::uint32_t>{3});
    daemon.deliver();
    ASSERT_EQ(sent.size(), 2u);
    const http::Response& r = sent[1];
    EXPECT_EQ(r.status, 303);
    EXPECT_EQ(header_of(r, "location"), "/security");
    EXPECT_TRUE(cookie_set(r, session_cookie).starts_with(std::string(session_cookie) + "=" + kToken + ";"));
    EXPECT_NE(cookie_set(r, presession_cookie).find("Max-Age=0"), std::string::npos);  // its work is done
    EXPECT_EQ(r.body.find("correct"), std::string::npos);
}

TEST_F(PortalAppTest, SignInFollowsTheStageTheDaemonGives) {
    const std::string pre = std::string(presession_cookie) + "=" + std::string(32, 'e');
    const std::string body = "csrf=" + app.mac("pre", std::string(32, 'e')) + "&username=ann%40example.test&password=x";
    const std::vector<std::pair<std::string, std::string>> cases = {{"second_factor", "/login"}, {"enrol", "/totp"}};
    for (const auto& [stage, location] : cases) {
        daemon.script(DaemonStatus::ok, R"({"token":")" + kToken + R"(","stage":")" + stage + R"("})");
        send(form_post("/login", body, pre));
        daemon.deliver();
        EXPECT_EQ(sent.back().status, 303);
        EXPECT_EQ(header_of(sent.back(), "location"), location);
    }
    // A refusal: the form again, with no session cookie.
    daemon.script(DaemonStatus::refused, "bad credentials");
    send(form_post("/login", body, pre));
    daemon.deliver();
    EXPECT_EQ(sent.back().status, 200);
    EXPECT_NE(sent.back().body.find("Wrong address or password."), std::string::npos);
    EXPECT_TRUE(cookie_set(sent.back(), session_cookie).empty());
}

TEST_F(PortalAppTest, CookiesAreHostOnlySecureHttpOnlyAndStrict) {
    const std::string pre = std::string(presession_cookie) + "=" + std::string(32, 'e');
    daemon.script(DaemonStatus::ok, R"({"token":")" + kToken + R"(","stage":"full"})");
    send(form_post("/login", "csrf=" + app.mac("pre", std::string(32, 'e')) + "&username=a%40b.test&password=x", pre));
    daemon.deliver();
    const std::vector<std::string> cookies = {cookie_set(answer(parsed("GET", "/login", {})), presession_cookie),
                                              cookie_set(sent.front(), session_cookie)};
    for (const std::string& c : cookies) {
        SCOPED_TRACE(c);
        EXPECT_TRUE(c.starts_with("__Host-"));
        const std::vector<std::string> attributes = attributes_of(c);
        for (const char* attribute : {"secure", "httponly", "samesite=strict", "path=/"})
            EXPECT_EQ(std::count(attributes.begin(), attributes.end(), attribute), 1) << attribute;
        for (const std::string& a : attributes) {
            EXPECT_FALSE(a.starts_with("domain")) << "a __Host- cookie is for this host alone";
            EXPECT_FALSE(a.starts_with("path=") && a != "path=/") << a;
            EXPECT_FALSE(a.starts_with("max-age") || a.starts_with("expires")) << "it ends with the browser";
        }
    }
}

TEST_F(PortalAppTest, ASignedOutAnswerSendsToSignInAndClearsTheCookie) {
    const std::string cookie = session_cookie_header();
    daemon.script(DaemonStatus::signed_out, "signed out");
    send(parsed("GET", "/security", {{"Cookie", cookie}}));
    daemon.script(DaemonStatus::ok, R"({"address":"ann@example.test","stage":"full"})");
    daemon.script(DaemonStatus::signed_out, "signed out");
    send(form_post("/app-passwords", "csrf=" + session_csrf() + "&label=phone", cookie));
    daemon.deliver();
    EXPECT_EQ(daemon.commands(), (std::vector<std::string>{"whoami", "whoami", "app-password-add"}));
    for (const DaemonRequest& r : daemon.requests) {
        auto token = std::find_if(r.fields.begin(), r.fields.end(), [](const auto& f) { return f.first == "token"; });
        ASSERT_NE(token, r.fields.end());
        EXPECT_EQ(token->second, kToken);
    }
    ASSERT_EQ(sent.size(), 2u);
    for (const http::Response& r : sent) {
        EXPECT_EQ(r.status, 303);
        EXPECT_EQ(header_of(r, "location"), "/login");
        const std::string cleared = cookie_set(r, session_cookie);
        EXPECT_TRUE(cleared.starts_with(std::string(session_cookie) + "=;")) << cleared;
        EXPECT_NE(cleared.find("Max-Age=0"), std::string::npos) << cleared;
    }
}

TEST_F(PortalAppTest, AUnfinishedSignInCannotOpenAPage) {
    const std::string cookie = session_cookie_header();
    daemon.script(DaemonStatus::ok, R"({"address":"ann@example.test","stage":"second_factor"})");
    send(parsed("GET", "/security", {{"Cookie", cookie}}));
    daemon.script(DaemonStatus::ok, R"({"address":"ann@example.test","stage":"enrol"})");
    send(parsed("GET", "/trash", {{"Cookie", cookie}}));
    daemon.deliver();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(header_of(sent[0], "location"), "/login");
    EXPECT_EQ(header_of(sent[1], "location"), "/totp");
    EXPECT_EQ(daemon.commands(), (std::vector<std::string>{"whoami", "whoami"}));
}

TEST_F(PortalAppTest, TextFromTheDaemonIsEscapedOnThePage) {
    daemon.script(DaemonStatus::ok,
                  R"({"address":"ann\"<b>@example.test","stage":"full","plan":"<i>pro</i>","ends":"2027-01-15 08:00:00"})");
    daemon.script(DaemonStatus::ok,
                  R"([{"kind":"mail","id":"0-1\"><script>x</script>","protocol":"imap<script>","client_ip":"<script>alert(1)</script>",)"
                  R"("tls":"TLSv1.3","started":"2027-01-15 07:00:00","current":false}])");
    daemon.script(DaemonStatus::ok,
                  R"([{"time":"2027-01-15 06:00:00","result":"failure","protocol":"portal","method":"password",)"
                  R"("client_ip":"<script>alert(2)</script>","reason":"<img src=x onerror=alert(3)>"},)"
                  R"({"time":"<script>","result":"support_reveal","note":"</td><script>alert(4)</script>"}])");
    send(parsed("GET", "/security", {{"Cookie", session_cookie_header()}}));
    daemon.deliver();
    EXPECT_EQ(daemon.commands(), (std::vector<std::string>{"whoami", "sessions", "history"}));
    ASSERT_EQ(sent.size(), 1u);
    const http::Response& page = sent[0];
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(header_of(page, "content-type"), "text/html; charset=utf-8");
    const std::string l = lower(page.body);
    EXPECT_EQ(l.find("<script"), std::string::npos);
    EXPECT_EQ(l.find("<img"), std::string::npos);
    EXPECT_EQ(l.find("<b>"), std::string::npos);
    EXPECT_EQ(l.find("<i>"), std::string::npos);
    EXPECT_NE(page.body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(page.body.find("&lt;script&gt;alert(2)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(page.body.find("&lt;img src=x onerror=alert(3)&gt;"), std::string::npos);
    EXPECT_NE(page.body.find("value=\"0-1&quot;&gt;&lt;script&gt;x&lt;/script&gt;\""), std::string::npos);
    EXPECT_NE(page.body.find("ann&quot;&lt;b&gt;@example.test"), std::string::npos);
    EXPECT_NE(page.body.find(session_csrf()), std::string::npos);  // the forms carry the session's token
}

TEST_F(PortalAppTest, PasswordsGoToTheDaemonOnlyAsTheSecret) {
    const std::string cookie = session_cookie_header();
    const std::string me = R"({"address":"ann@example.test","stage":"full"})";
    daemon.script(DaemonStatus::ok, me);
    daemon.script(DaemonStatus::ok, R"({"changed":true})");
    send(form_post("/password", "csrf=" + session_csrf() + "&current=old+pass&new=new-password-1&again=new-password-1", cookie));
    daemon.deliver();
    ASSERT_EQ(daemon.commands(), (std::vector<std::string>{"whoami", "passwd"}));
    const std::vector<std::pair<std::string, std::string>> token_only = {{"token", kToken}};
    EXPECT_EQ(daemon.requests[1].fields, token_only);
    EXPECT_EQ(daemon.requests[1].secret, "old pass\nnew-password-1");
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_NE(sent[0].body.find("Your password was changed."), std::string::npos);
    EXPECT_EQ(sent[0].body.find("new-password-1"), std::string::npos);
    EXPECT_EQ(sent[0].body.find("old pass"), std::string::npos);
    // New passwords that differ never reach the daemon.
    daemon.script(DaemonStatus::ok, me);
    send(form_post("/password", "csrf=" + session_csrf() + "&current=old&new=new-password-1&again=new-password-2", cookie));
    daemon.deliver();
    EXPECT_EQ(daemon.commands().back(), "whoami");
    EXPECT_NE(sent.back().body.find("The new passwords are not the same."), std::string::npos);
}

TEST_F(PortalAppTest, TargetsThatCouldNameAnotherPathAre400) {
    for (const char* target : {"/security/../login", "/..", "/static/../static/portal.css", "/./login", "/login%2F",
                               "/%2Fsecurity", "/static%2fportal.css", "//login", "/login%00", "/%2e%2e/login",
                               "/login\\..", "/login#top", "/bad%zz"}) {
        SCOPED_TRACE(target);
        const http::Response r = answer(parsed("GET", target, {{"Cookie", session_cookie_header()}}));
        EXPECT_EQ(r.status, 400);
        expect_security_headers(r);
    }
    EXPECT_TRUE(daemon.requests.empty());
}

TEST_F(PortalAppTest, TheExportPageFollowsThePreparation) {
    const std::string me = R"({"address":"ann@example.test","stage":"full"})";
    for (const char* status : {R"({"state":"preparing","bytes":2097152,"messages":9})",
                               R"({"state":"ready","export":7,"bytes":300,"messages":3,"parts":1,"trash":true,)"
                               R"("expires":"2027-01-16T08:00:00Z"})",
                               R"({"state":"failed","error":"no <room>"})"}) {
        daemon.script(DaemonStatus::ok, me);
        daemon.script(DaemonStatus::ok, status);
        send(parsed("GET", "/export", {{"Cookie", session_cookie_header()}}));
        daemon.deliver();
    }
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_NE(sent[0].body.find(R"(<meta http-equiv="refresh" content="5">)"), std::string::npos);
    EXPECT_NE(sent[0].body.find("2.0 MB so far"), std::string::npos);
    EXPECT_EQ(sent[0].body.find("/export/download"), std::string::npos);
    EXPECT_EQ(sent[1].body.find("http-equiv"), std::string::npos);
    for (const char* expected : {R"(action="/export/download")", R"(action="/export/discard")", "2027-01-16 08:00 UTC",
                                 "3 messages (deleted mail included)", R"(action="/export/prepare")"})
        EXPECT_NE(sent[1].body.find(expected), std::string::npos) << expected;
    EXPECT_NE(sent[2].body.find("no &lt;room&gt;"), std::string::npos);
    EXPECT_NE(sent[2].body.find(R"(action="/export/prepare")"), std::string::npos);
    // Prepare: the daemon hears the choice, the browser goes back to the page.
    daemon.script(DaemonStatus::ok, me);
    daemon.script(DaemonStatus::ok, R"({"state":"preparing"})");
    send(form_post("/export/prepare", "csrf=" + session_csrf() + "&trash=1", session_cookie_header()));
    daemon.deliver();
    EXPECT_EQ(daemon.requests.back().command, "export-prepare");
    EXPECT_EQ(daemon.requests.back().fields, (std::vector<std::pair<std::string, std::string>>{{"trash", "1"}, {"token", kToken}}));
    EXPECT_EQ(header_of(sent.back(), "location"), "/export");
}

TEST_F(PortalAppTest, ADownloadComesPartByPartFromTheDaemon) {
    daemon.script(DaemonStatus::ok, R"({"address":"ann@example.test","stage":"full"})");
    daemon.script(DaemonStatus::ok, R"({"state":"ready","export":7,"bytes":11,"messages":1,"parts":2,"expires":"x"})");
    send(form_post("/export/download", "csrf=" + session_csrf(), session_cookie_header()));
    daemon.deliver();
    ASSERT_EQ(sent.size(), 1u);
    ASSERT_NE(download, nullptr);
    EXPECT_EQ(download_bytes, 11u);
    EXPECT_EQ(header_of(sent[0], "content-type"), "application/mbox");
    EXPECT_TRUE(sent[0].body.empty());
    expect_security_headers(sent[0]);
    std::vector<std::optional<std::string>> pieces;
    const auto take = [&pieces](std::optional<std::string> piece) { pieces.push_back(std::move(piece)); };
    daemon.script(DaemonStatus::ok, "From a\n");
    download->next(take);
    EXPECT_TRUE(pieces.empty()) << "a piece comes when the daemon answers, never inside next()";
    daemon.deliver();
    daemon.script(DaemonStatus::refused, "the export is gone");
    download->next(take);
    daemon.deliver();
    ASSERT_EQ(pieces.size(), 2u);
    EXPECT_EQ(pieces[0], "From a\n");
    EXPECT_FALSE(pieces[1]) << "a part that does not come ends the body";
    ASSERT_EQ(daemon.requests.size(), 4u);
    for (std::uint32_t part = 0; part < 2; ++part) {
        const DaemonRequest& r = daemon.requests[2 + part];
        EXPECT_EQ(r.command, "export-download");
        EXPECT_EQ(r.fields, (std::vector<std::pair<std::string, std::string>>{
                                {"export", "7"}, {"part", std::to_string(part)}, {"token", kToken}}));
    }
    // No export ready: the page says so, and nothing is sent as a file.
    daemon.script(DaemonStatus::ok, R"({"address":"ann@example.test","stage":"full"})");
    daemon.script(DaemonStatus::ok, R"({"state":"none"})");
    daemon.script(DaemonStatus::ok, R"({"state":"none"})");
    send(form_post("/export/download", "csrf=" + session_csrf(), session_cookie_header()));
    daemon.deliver();
    EXPECT_NE(sent.back().body.find("no export ready"), std::string::npos);
}

TEST_F(PortalAppTest, ADaemonThatDoesNotAnswerIsAnErrorPage) {
    daemon.script(DaemonStatus::failed, "try again later");
    send(parsed("GET", "/password", {{"Cookie", session_cookie_header()}}));
    daemon.deliver();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].status, 503);
    EXPECT_TRUE(cookie_set(sent[0], session_cookie).empty());  // the session may still be good
}

}  // namespace
}  // namespace vmx::portal
