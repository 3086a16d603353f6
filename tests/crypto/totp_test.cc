// HOTP/TOTP against RFC 4226 and RFC 6238, the verification window and replay refusal, code
// parsing, RFC 4648 base32 and the otpauth:// provisioning URI.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "crypto/errc.h"
#include "crypto/totp.h"

namespace vmx::crypto {
namespace {

// The RFC 4226 / RFC 6238 SHA-1 test secret, "12345678901234567890".
std::vector<std::uint8_t> rfc_secret() {
    const std::string s = "12345678901234567890";
    return {s.begin(), s.end()};
}

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string code_of(std::uint32_t value) {
    std::string s = std::to_string(value);
    return s.size() >= 6 ? s : std::string(6 - s.size(), '0') + s;
}

TEST(Totp, Rfc4226HotpVectors) {
    const std::array<std::uint32_t, 10> expected = {755224, 287082, 359152, 969429, 338314,
                                                    254676, 287922, 162583, 399871, 520489};
    const auto secret = rfc_secret();
    for (std::uint64_t counter = 0; counter < expected.size(); ++counter) {
        EXPECT_EQ(hotp(secret, counter), expected[counter]) << counter;
    }
}

TEST(Totp, Rfc6238Sha1Vectors) {
    struct Vector {
        std::uint64_t time;
        std::uint32_t code;
    };
    const std::array<Vector, 6> vectors = {{{59, 94287082},
                                            {1111111109, 7081804},
                                            {1111111111, 14050471},
                                            {1234567890, 89005924},
                                            {2000000000, 69279037},
                                            {20000000000, 65353130}}};
    const auto secret = rfc_secret();
    for (const auto& v : vectors) {
        EXPECT_EQ(totp_at(secret, v.time, 8), v.code) << v.time;
        EXPECT_EQ(totp_at(secret, v.time), v.code % 1000000) << v.time;
    }
}

TEST(Totp, WindowOfOneStep) {
    const auto secret = rfc_secret();
    const std::uint64_t t = 1234567890;
    const std::uint64_t now = t / 30;
    for (const std::int64_t delta : {-1, 0, 1}) {
        const std::uint64_t step = now + static_cast<std::uint64_t>(delta);
        const TotpCheck c = totp_verify(secret, code_of(hotp(secret, step)), t, 0);
        EXPECT_TRUE(c.ok) << delta;
        EXPECT_EQ(c.step, step) << delta;
    }
    for (const std::int64_t delta : {-3, -2, 2, 3}) {
        const std::uint64_t step = now + static_cast<std::uint64_t>(delta);
        const TotpCheck c = totp_verify(secret, code_of(hotp(secret, step)), t, 0);
        EXPECT_FALSE(c.ok) << delta;
        EXPECT_EQ(c.step, 0U) << delta;
    }
    // The edges of the current step: t at its first and last second.
    EXPECT_TRUE(totp_verify(secret, code_of(totp_at(secret, now * 30)), now * 30 + 29, 0).ok);
    EXPECT_TRUE(totp_verify(secret, code_of(totp_at(secret, (now + 1) * 30)), now * 30, 0).ok);
}

TEST(Totp, ReplayIsRefused) {
    const auto secret = rfc_secret();
    const std::uint64_t t = 2000000000;
    const std::string code = code_of(totp_at(secret, t));
    const TotpCheck first = totp_verify(secret, code, t, 0);
    ASSERT_TRUE(first.ok);
    EXPECT_EQ(first.step, t / 30);
    // The same code again, even seconds later in the same step or the next: refused.
    EXPECT_FALSE(totp_verify(secret, code, t, first.step).ok);
    EXPECT_FALSE(totp_verify(secret, code, t + 30, first.step).ok);
    // An older step's code, still inside the window: refused too.
    EXPECT_FALSE(totp_verify(secret, code_of(totp_at(secret, t - 30)), t, first.step).ok);
    // The next step's code is accepted and moves last_used_step on.
    const TotpCheck next = totp_verify(secret, code_of(totp_at(secret, t + 30)), t + 30, first.step);
    EXPECT_TRUE(next.ok);
    EXPECT_EQ(next.step, first.step + 1);
    // A code from the future step (clock skew) is fine once, then the current one is stale.
    const TotpCheck ahead = totp_verify(secret, code_of(totp_at(secret, t + 90)), t + 60, next.step);
    ASSERT_TRUE(ahead.ok);
    EXPECT_EQ(ahead.step, t / 30 + 3);
    EXPECT_FALSE(totp_verify(secret, code_of(totp_at(secret, t + 60)), t + 60, ahead.step).ok);
}

TEST(Totp, MalformedCodesAreRefused) {
    const auto secret = rfc_secret();
    const std::uint64_t t = 1111111111;
    const std::string good = code_of(totp_at(secret, t));
    ASSERT_TRUE(totp_verify(secret, good, t, 0).ok);
    const std::vector<std::string> bad = {
        "12345", "1234567", "12a456", "", " " + good, good + " ", good.substr(0, 3) + " " + good.substr(3),
        good.substr(0, 5), good + "0", "+" + good.substr(1), "-" + good.substr(1), good + std::string(1, '\0'),
        std::string(1, '\0') + good.substr(1), "\xef\xbc\x91\xef\xbc\x92", "      ",
        std::string(100000, '1'),
    };
    for (const auto& code : bad) {
        const TotpCheck c = totp_verify(secret, code, t, 0);
        EXPECT_FALSE(c.ok) << code.substr(0, 20);
        EXPECT_EQ(c.step, 0U);
    }
}

TEST(Totp, SecretsOutsideTheLimitsAreRefused) {
    const std::uint64_t t = 1111111111;
    const auto short_secret = bytes("0123456789");   // 80 bits
    EXPECT_FALSE(totp_verify(short_secret, code_of(totp_at(short_secret, t)), t, 0).ok);
    const std::vector<std::uint8_t> empty;
    EXPECT_FALSE(totp_verify(empty, code_of(totp_at(empty, t)), t, 0).ok);
    const std::vector<std::uint8_t> long_secret(totp_secret_bytes_max + 1, 0x42);
    EXPECT_FALSE(totp_verify(long_secret, code_of(totp_at(long_secret, t)), t, 0).ok);
    const std::vector<std::uint8_t> min_secret(totp_secret_bytes_min, 0x42);
    EXPECT_TRUE(totp_verify(min_secret, code_of(totp_at(min_secret, t)), t, 0).ok);
}

TEST(Totp, EpochStartHasNoStepBefore) {
    const auto secret = rfc_secret();
    // At t=5 "now - 1" would wrap to the last step; its code must not be accepted.
    const std::uint32_t wrapped = hotp(secret, UINT64_MAX);
    ASSERT_NE(wrapped, hotp(secret, 0));
    ASSERT_NE(wrapped, hotp(secret, 1));
    EXPECT_FALSE(totp_verify(secret, code_of(wrapped), 5, 0).ok);
    const TotpCheck c = totp_verify(secret, code_of(hotp(secret, 1)), 5, 0);
    EXPECT_TRUE(c.ok);
    EXPECT_EQ(c.step, 1U);
}

TEST(Totp, Base32Rfc4648Vectors) {
    const std::array<std::pair<std::string_view, std::string_view>, 7> vectors = {{
        {"", ""}, {"f", "MY"}, {"fo", "MZXQ"}, {"foo", "MZXW6"}, {"foob", "MZXW6YQ"},
        {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
    }};
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(base32_encode(bytes(plain)), encoded);
        auto d = base32_decode(encoded);
        ASSERT_TRUE(d) << encoded;
        EXPECT_EQ(*d, bytes(plain)) << encoded;
    }
    EXPECT_EQ(base32_encode(rfc_secret()), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(Totp, Base32DecodeTolerance) {
    const std::vector<std::string_view> accepted = {"mzxw6ytboi", "MZXW 6YTB OI", " MzXw6YtBoI ",
                                                    "MZXW6YTBOI======", "MZXW6YTBOI== ===="};
    for (const auto s : accepted) {
        auto d = base32_decode(s);
        ASSERT_TRUE(d) << s;
        EXPECT_EQ(*d, bytes("foobar")) << s;
    }
    auto f = base32_decode("MY======");
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, bytes("f"));
    const std::vector<std::string_view> refused = {
        "M",         // one character is never a whole byte
        "MZX",       // nor are three
        "MZXW6Y",    // nor six
        "MZ",        // unused bits not zero
        "MY=Y",      // data after padding
        "MY==",      // wrong amount of padding
        "MZXW6YTBOI=",
        "MZXW1",     // 1 is not in the alphabet
        "MZXW0",
        "MZXW8",
        "MZ-XW",
        "MZ\tXW6",
        "MZXW6\n",
        "M\xc3\x9aXW6",
        std::string_view("MZ\0XW6", 6),
        "=",
        "========",  // padding with no data
    };
    for (const auto s : refused) {
        auto d = base32_decode(s);
        ASSERT_FALSE(d) << s;
        EXPECT_EQ(d.error(), CryptoErrc::invalid_argument);
    }
}

TEST(Totp, GeneratedSecretsRoundTrip) {
    auto a = totp_generate_secret();
    auto b = totp_generate_secret();
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->size(), totp_secret_bytes);
    EXPECT_NE(*a, *b);
    const std::string text = base32_encode(*a);
    EXPECT_EQ(text.size(), 32U);   // 160 bits, no padding needed
    auto back = base32_decode(text);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, *a);
    const std::uint64_t t = 1700000000;
    EXPECT_TRUE(totp_verify(*a, code_of(totp_at(*a, t)), t, 0).ok);
}

TEST(Totp, ProvisioningUri) {
    const auto secret = rfc_secret();
    EXPECT_EQ(totp_provisioning_uri("VaultMX", "alice@example.com", secret),
              "otpauth://totp/VaultMX:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
              "&issuer=VaultMX&algorithm=SHA1&digits=6&period=30");
    EXPECT_EQ(totp_provisioning_uri("Acme Mail: EU", "bob+tag/x?&=#%", secret),
              "otpauth://totp/Acme%20Mail%3A%20EU:bob%2Btag%2Fx%3F%26%3D%23%25"
              "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Mail%3A%20EU"
              "&algorithm=SHA1&digits=6&period=30");
    EXPECT_EQ(totp_provisioning_uri("Caf\xc3\xa9", "u-1._~", secret),
              "otpauth://totp/Caf%C3%A9:u-1._~?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
              "&issuer=Caf%C3%A9&algorithm=SHA1&digits=6&period=30");
    EXPECT_EQ(totp_provisioning_uri("", "carol", secret),
              "otpauth://totp/carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
              "&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace vmx::crypto
