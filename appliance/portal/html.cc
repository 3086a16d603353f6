// HTML escaping and the page frame (see html.h).
#include "appliance/portal/html.h"

#include <fmt/format.h>

namespace vmx::portal {

std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    for (const char ch : text) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default:
                if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f) break;
                out += ch;
        }
    }
    return out;
}

std::string csrf_input(std::string_view csrf) {
    return fmt::format(R"(<input type="hidden" name="csrf" value="{}">)", escape_html(csrf));
}

namespace {

constexpr std::string_view kNavigation[][2] = {
    {"/security", "Security"},       {"/password", "Password"},   {"/app-passwords", "App passwords"},
    {"/totp", "Two-factor sign-in"}, {"/security-keys", "Security keys"}, {"/trash", "Deleted mail"},
    {"/export", "Export"},
    {"/close", "Close account"},
};

}  // namespace

std::string render_page(const PageFrame& frame, std::string_view body_html) {
    std::string nav;
    if (frame.signed_in) {
        nav += R"(<nav><ul>)";
        for (const auto& item : kNavigation) nav += fmt::format(R"(<li><a href="{}">{}</a></li>)", item[0], item[1]);
        nav += fmt::format(R"(</ul><form method="post" action="/logout" class="signout">{}<span>{}</span> )"
                           R"(<button type="submit">Sign out</button></form></nav>)",
                           csrf_input(frame.csrf), escape_html(frame.address));
    }
    // A refresh is not script: the CSP (default-src 'none') leaves it to the browser.
    const std::string refresh =
        frame.refresh_s > 0 ? fmt::format("<meta http-equiv=\"refresh\" content=\"{}\">", frame.refresh_s) : std::string();
    return fmt::format("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{}"
                       "<title>{} - vaultmx</title><link rel=\"stylesheet\" href=\"/static/portal.css\"></head>"
                       "<body><header><h1>vaultmx</h1>{}</header><main><h2>{}</h2>{}</main></body></html>\n",
                       refresh, escape_html(frame.title), nav, escape_html(frame.title), body_html);
}

}  // namespace vmx::portal
