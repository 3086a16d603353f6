// DKIM relaxed canonicalization (RFC 6376 3.4.2, 3.4.4, the examples of 3.4.5) and the header data a
// signature covers (5.4.2: bottom-up, oversigned names select nothing).
#include "net/mailauth/dkim_canon.h"

#include <gtest/gtest.h>

namespace vmx::mailauth {
namespace {

TEST(DkimCanon, RfcExamples) {
    EXPECT_EQ(relaxed_header("A: X"), "a:X\r\n");
    EXPECT_EQ(relaxed_header("B : Y\t\r\n\tZ  "), "b:Y Z\r\n");
    EXPECT_EQ(relaxed_body(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

TEST(DkimCanon, BodyEdges) {
    EXPECT_EQ(relaxed_body(""), "");
    EXPECT_EQ(relaxed_body("\r\n\r\n"), "");                      // only empty lines: empty
    EXPECT_EQ(relaxed_body("no line end"), "no line end\r\n");    // a final CRLF added
    EXPECT_EQ(relaxed_body("a\r\n\r\nb\r\n"), "a\r\n\r\nb\r\n");  // inner empty lines stay
    EXPECT_EQ(relaxed_body("x \t \r\n \t\r\n"), "x\r\n");         // a whitespace-only last line is empty
    EXPECT_EQ(relaxed_body("\xc3\xa9t\xc3\xa9  \r\n"), "\xc3\xa9t\xc3\xa9\r\n");  // 8-bit bytes kept
}

TEST(DkimCanon, SelectionIsBottomUpAndOversignedNamesSelectNothing) {
    const std::string message = "Received: x\r\nFrom: first\r\nSubject: s\r\nFrom: second\r\n\r\nbody\r\n";
    const HeaderSection section = header_fields(message);
    EXPECT_EQ(signed_headers(section.fields, {"from", "subject", "from", "from"}),
              "from:second\r\nsubject:s\r\nfrom:first\r\n");
    EXPECT_EQ(signed_headers(section.fields, {"to"}), "");
}

}  // namespace
}  // namespace vmx::mailauth
