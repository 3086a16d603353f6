// QR codes as inline SVG: a typical otpauth URI gives one <svg> element with one path of modules
// (no script, no external reference the CSP would refuse); a text no QR version can hold gives none.
#include "appliance/portal/qr_svg.h"

#include <gtest/gtest.h>

#include <string>

namespace vmx::portal {
namespace {

const std::string kUri =
    "otpauth://totp/vaultmx:ann%40example.test?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=vaultmx"
    "&algorithm=SHA1&digits=6&period=30";

TEST(QrSvg, ATypicalOtpauthUriIsOneSvgWithAPath) {
    const auto svg = qr_svg(kUri);
    ASSERT_TRUE(svg.has_value());
    EXPECT_TRUE(svg->starts_with("<svg"));
    EXPECT_TRUE(svg->ends_with("</svg>"));
    EXPECT_NE(svg->find("xmlns=\"http://www.w3.org/2000/svg\""), std::string::npos);
    const auto d = svg->find("<path fill=\"#000\" d=\"M");
    ASSERT_NE(d, std::string::npos);
    EXPECT_GT(svg->size() - d, 1000u) << "a QR code has hundreds of dark modules";
    EXPECT_EQ(svg->find("<script"), std::string::npos);
    EXPECT_EQ(svg->find("href"), std::string::npos);
    EXPECT_EQ(svg->find("secret"), std::string::npos) << "the text is in the modules, not the markup";
    EXPECT_EQ(qr_svg(kUri), svg) << "the same text gives the same code";
}

// The view box is the symbol's width (17 + 4 x version modules) and a quiet zone of 4 on each side.
TEST(QrSvg, TheViewBoxHoldsTheSymbolAndItsQuietZone) {
    const auto svg = qr_svg("a");
    ASSERT_TRUE(svg.has_value());
    EXPECT_NE(svg->find(R"(viewBox="0 0 29 29")"), std::string::npos) << *svg;  // version 1: 21 + 8
    const auto longer = qr_svg(kUri);
    ASSERT_TRUE(longer.has_value());
    EXPECT_EQ(longer->find(R"(viewBox="0 0 29 29")"), std::string::npos);
}

TEST(QrSvg, TooLongForAnyVersionIsNothing) {
    EXPECT_FALSE(qr_svg(std::string(8000, 'x')).has_value());
    // Version 40 at level M holds 2331 bytes in 8-bit mode (lower case is not alphanumeric)...
    EXPECT_TRUE(qr_svg(std::string(2331, 'x')).has_value());
    EXPECT_FALSE(qr_svg(std::string(2332, 'x')).has_value());
    // ...and 5596 digits, which libqrencode packs in numeric mode even when told 8-bit.
    EXPECT_TRUE(qr_svg(std::string(3000, '7')).has_value());
}

}  // namespace
}  // namespace vmx::portal
