// The client side of SASL: base64 against RFC 4648's test vectors, the PLAIN initial response.
#include <gtest/gtest.h>

#include <string>

#include "net/sasl/sasl_client.h"

namespace vmx::sasl {
namespace {

std::string encode(std::string_view s) {
    std::string out;
    base64_encode({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}, out);
    return out;
}

crypto::SecretBytes secret(std::string_view s) {
    return crypto::SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

TEST(SaslClient, Base64MatchesRfc4648Vectors) {
    EXPECT_EQ(encode(""), "");
    EXPECT_EQ(encode("f"), "Zg==");
    EXPECT_EQ(encode("fo"), "Zm8=");
    EXPECT_EQ(encode("foo"), "Zm9v");
    EXPECT_EQ(encode("foob"), "Zm9vYg==");
    EXPECT_EQ(encode("fooba"), "Zm9vYmE=");
    EXPECT_EQ(encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(encode(std::string_view("\xff\xfe\x00", 3)), "//4A");  // the last two letters of the alphabet
}

TEST(SaslClient, PlainResponse) {
    std::string out = "AUTH PLAIN ";
    plain_response("relay@example.org", secret("s3cret pass"), out);
    EXPECT_EQ(out, "AUTH PLAIN AHJlbGF5QGV4YW1wbGUub3JnAHMzY3JldCBwYXNz");
    EXPECT_TRUE(plain_sendable("u", secret("p")));
    EXPECT_FALSE(plain_sendable("", secret("p")));
    EXPECT_FALSE(plain_sendable(std::string_view("u\0v", 3), secret("p")));
    EXPECT_FALSE(plain_sendable("u", secret(std::string_view("p\0q", 3))));
}

}  // namespace
}  // namespace vmx::sasl
