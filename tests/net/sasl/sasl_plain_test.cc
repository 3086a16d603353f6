// SASL PLAIN helpers: strict base64 into secret memory (RFC 4648 vectors, canonical form only,
// size bound) and the PLAIN message split (RFC 4616) with its authzid rule.
#include <gtest/gtest.h>

#include <string>

#include "net/sasl/sasl_plain.h"

namespace vmx::sasl {
namespace {

std::string text_of(const crypto::SecretBytes& s) {
    return {reinterpret_cast<const char*>(s.view().data()), s.size()};
}

crypto::SecretBytes secret_of(std::string_view s) {
    return crypto::SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
}

TEST(SaslBase64, Rfc4648Vectors) {
    const std::pair<std::string, std::string> vectors[] = {
        {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"},
        {"+/+/", "\xfb\xff\xbf"},
    };
    for (const auto& [in, want] : vectors) {
        const auto out = base64_decode_secret(in, 64);
        ASSERT_TRUE(out.has_value()) << in;
        EXPECT_EQ(text_of(*out), want);
    }
}

TEST(SaslBase64, RejectsNonCanonicalAndOversized) {
    for (const char* bad : {"", "Z", "Zg", "Zg=", "Zh==", "Zm9=", "Zg==Zg==", "Z===", "====", "Zm 9v", "Zm9v\r", "Zm-_"}) {
        EXPECT_FALSE(base64_decode_secret(bad, 64).has_value()) << bad;
    }
    EXPECT_TRUE(base64_decode_secret("Zm9vYmFy", 6).has_value());
    EXPECT_FALSE(base64_decode_secret("Zm9vYmFy", 5).has_value());
}

TEST(SaslPlain, Splits) {
    auto r = parse_plain(secret_of(std::string("\0bob\0pw d", 9)), 255, 1024);
    ASSERT_TRUE(r.credentials.has_value());
    EXPECT_EQ(r.credentials->authcid, "bob");
    EXPECT_EQ(text_of(r.credentials->password), "pw d");
    EXPECT_TRUE(parse_plain(secret_of(std::string("bob\0bob\0pw", 10)), 255, 1024).credentials.has_value());
}

TEST(SaslPlain, Rejects) {
    const std::string malformed[] = {
        std::string("bob"), std::string("\0bob", 4), std::string("\0bob\0", 5), std::string("\0\0pw", 4),
        std::string("\0b\x01ob\0pw", 8), std::string("\0bob\0p\0w", 8),
    };
    for (const auto& m : malformed) {
        const auto r = parse_plain(secret_of(m), 255, 1024);
        EXPECT_FALSE(r.credentials.has_value());
        EXPECT_EQ(r.error, PlainError::malformed);
    }
    const auto other = parse_plain(secret_of(std::string("eve\0bob\0pw", 10)), 255, 1024);
    EXPECT_FALSE(other.credentials.has_value());
    EXPECT_EQ(other.error, PlainError::authzid_differs);
    EXPECT_FALSE(parse_plain(secret_of(std::string("\0bob\0pw", 7)), 2, 1024).credentials.has_value());
    EXPECT_FALSE(parse_plain(secret_of(std::string("\0bob\0pw", 7)), 255, 1).credentials.has_value());
}

TEST(SaslPlain, UserNames) {
    EXPECT_TRUE(valid_username("bob@example.org", 255));
    EXPECT_TRUE(valid_username("j\xc3\xb6rg", 255));
    EXPECT_FALSE(valid_username("", 255));
    EXPECT_FALSE(valid_username("a\tb", 255));
    EXPECT_FALSE(valid_username("abc", 2));
}

}  // namespace
}  // namespace vmx::sasl
