// HMAC-SHA256: RFC 4231 test cases 1, 2 and 6, an empty key and message, and a message in parts
// giving the MAC of its concatenation.
#include "crypto/hmac.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace vmx::crypto {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::string hex_of(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0x0F];
    }
    return out;
}

std::string mac_hex(std::span<const std::uint8_t> key, std::vector<std::span<const std::uint8_t>> parts) {
    std::array<std::uint8_t, hmac_sha256_bytes> out{};
    EXPECT_TRUE(hmac_sha256(key, parts, out));
    return hex_of(out);
}

TEST(HmacTest, Rfc4231TestCases) {
    const Bytes key1(20, 0x0b);
    EXPECT_EQ(mac_hex(key1, {bytes_of("Hi There")}),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(mac_hex(bytes_of("Jefe"), {bytes_of("what do ya want for nothing?")}),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    const Bytes key6(131, 0xaa);  // longer than a block: hashed first
    EXPECT_EQ(mac_hex(key6, {bytes_of("Test Using Larger Than Block-Size Key - Hash Key First")}),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacTest, EmptyKeyAndEmptyMessage) {
    EXPECT_EQ(mac_hex({}, {}), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
    EXPECT_EQ(mac_hex({}, {bytes_of(""), {}}), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacTest, PartsAreOneMessage) {
    EXPECT_EQ(mac_hex(bytes_of("Jefe"), {bytes_of("what do ya"), {}, bytes_of(" want for "), bytes_of("nothing?")}),
              mac_hex(bytes_of("Jefe"), {bytes_of("what do ya want for nothing?")}));
}

}  // namespace
}  // namespace vmx::crypto
