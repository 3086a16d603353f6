// HTML for the portal's pages: text escaped for element content and attribute values (every page
// builds its markup through these, so user-controlled text cannot become markup), and the frame
// every page shares. No inline script or style anywhere: the CSP forbids both. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vmx::portal {

// &, <, >, " and ' as entities; control characters other than tab and line feed dropped.
std::string escape_html(std::string_view text);

struct PageFrame {
    std::string_view title;
    bool signed_in = false;        // shows the navigation and the sign-out button
    std::string_view csrf{};       // for the sign-out form (signed in only)
    std::string_view address{};    // who is signed in
    std::uint32_t refresh_s = 0;   // > 0: the browser loads the page again after this long (meta refresh)
};

// A whole document: doctype, head (title, the portal's own style sheet, a refresh when asked),
// navigation, `body_html`.
std::string render_page(const PageFrame& frame, std::string_view body_html);

// <input type="hidden" name="csrf" value="...">
std::string csrf_input(std::string_view csrf);

}  // namespace vmx::portal
