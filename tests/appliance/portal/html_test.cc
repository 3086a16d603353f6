// The portal's HTML helpers: every character that could start or end markup or an attribute
// value comes out as an entity, control bytes are dropped (tab and line feed stay), other bytes
// (UTF-8 included) pass unchanged; the frame escapes its own texts.
#include "appliance/portal/html.h"

#include <gtest/gtest.h>

#include <string>

namespace vmx::portal {
namespace {

TEST(EscapeHtml, EverySpecialCharacterIsAnEntity) {
    EXPECT_EQ(escape_html("&"), "&amp;");
    EXPECT_EQ(escape_html("<"), "&lt;");
    EXPECT_EQ(escape_html(">"), "&gt;");
    EXPECT_EQ(escape_html("\""), "&quot;");
    EXPECT_EQ(escape_html("'"), "&#39;");
    EXPECT_EQ(escape_html(R"(<a href="x" onclick='y'>&amp;</a>)"),
              "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
    EXPECT_EQ(escape_html(""), "");
}

TEST(EscapeHtml, ControlBytesAreDroppedButTabAndLineFeedStay) {
    std::string every_control;
    for (int c = 0; c < 0x20; ++c) every_control += static_cast<char>(c);
    every_control += '\x7f';
    EXPECT_EQ(escape_html(every_control), "\t\n");
    EXPECT_EQ(escape_html(std::string("a\0b", 3)), "ab");
    EXPECT_EQ(escape_html("a\r\nb"), "a\nb");
    EXPECT_EQ(escape_html("\x1b[31mred"), "[31mred");
}

TEST(EscapeHtml, OrdinaryTextAndUtf8PassUnchanged) {
    const std::string text = "ann@example.test 2027-01-15 08:00:00 (TLSv1.3) 100% [ok] {x} = ; / \\ `";
    EXPECT_EQ(escape_html(text), text);
    EXPECT_EQ(escape_html("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x94\x92"), "J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x94\x92");
    EXPECT_EQ(escape_html("\x80\xff"), "\x80\xff");  // not control bytes: signed char must not drop them
}

TEST(RenderPage, TheFrameEscapesItsTexts) {
    const std::string page = render_page(PageFrame{"<Title>", true, "\"csrf\"", "ann<script>@example.test"}, "<p>body</p>");
    EXPECT_TRUE(page.starts_with("<!DOCTYPE html>"));
    EXPECT_EQ(page.find("<Title>"), std::string::npos);
    EXPECT_NE(page.find("&lt;Title&gt;"), std::string::npos);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_NE(page.find("ann&lt;script&gt;@example.test"), std::string::npos);
    EXPECT_NE(page.find(R"(name="csrf" value="&quot;csrf&quot;")"), std::string::npos);
    EXPECT_NE(page.find("<p>body</p>"), std::string::npos);  // the body is the page's own markup
    EXPECT_NE(page.find(R"(action="/logout")"), std::string::npos);
    EXPECT_EQ(page.find("<style"), std::string::npos);  // the CSP allows no inline style or script
}

TEST(RenderPage, SignedOutHasNoNavigationOrSignOut) {
    const std::string page = render_page(PageFrame{"Sign in", false, {}, {}}, "");
    EXPECT_EQ(page.find("<nav>"), std::string::npos);
    EXPECT_EQ(page.find("/logout"), std::string::npos);
}

TEST(CsrfInput, IsAHiddenFieldWithTheValueEscaped) {
    EXPECT_EQ(csrf_input("0123abcd"), R"(<input type="hidden" name="csrf" value="0123abcd">)");
    EXPECT_EQ(csrf_input("\"><x"), R"(<input type="hidden" name="csrf" value="&quot;&gt;&lt;x">)");
}

}  // namespace
}  // namespace vmx::portal
