// HKDF-SHA256: RFC 5869 appendix A test cases 1-3, and the length limits.
#include "crypto/hkdf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"

namespace vmx::crypto {
namespace {

using Bytes = std::vector<std::uint8_t>;

// The error of a result, or no error: unlike .error(), never aborts on an unexpected success.
template <class R>
std::error_code error_of(const R& r) {
    return r.has_value() ? std::error_code{} : r.error();
}


Bytes hex(std::string_view text) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    return out;
}

Bytes range(int first, int last) {  // first..last inclusive
    Bytes out;
    for (int b = first; b <= last; ++b) out.push_back(static_cast<std::uint8_t>(b));
    return out;
}

std::string_view as_text(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

Bytes derive(const Bytes& ikm, const Bytes& salt, const Bytes& info, std::size_t length) {
    auto okm = hkdf_sha256(ikm, salt, as_text(info), length);
    EXPECT_TRUE(okm.has_value());
    if (!okm) return {};
    Bytes out(okm->view().begin(), okm->view().end());
    Bytes into(length);
    EXPECT_TRUE(hkdf_sha256_into(ikm, salt, info, into).has_value());
    EXPECT_EQ(into, out);
    return out;
}

TEST(Hkdf, Rfc5869TestCase1) {
    EXPECT_EQ(derive(Bytes(22, 0x0b), hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42),
              hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"));
}

TEST(Hkdf, Rfc5869TestCase2LongInputs) {
    EXPECT_EQ(derive(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82),
              hex("b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
                  "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
                  "cc30c58179ec3e87c14c01d5c1f3434f1d87"));
}

TEST(Hkdf, Rfc5869TestCase3EmptySaltAndInfo) {
    EXPECT_EQ(derive(Bytes(22, 0x0b), {}, {}, 42),
              hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"));
}

// Not an RFC case: empty IKM, salt and a short info (value from Python's hmac/hashlib).
TEST(Hkdf, EmptyInputKeyingMaterial) {
    EXPECT_EQ(derive({}, {}, Bytes{'v', 'a', 'u', 'l', 't', 'm', 'x'}, 32),
              hex("139e280ca4bf091e288707545c98ad10b72a01835cf962361efb86f03d957cb4"));
}

TEST(Hkdf, LengthLimits) {
    const Bytes ikm(32, 7);
    EXPECT_EQ(error_of(hkdf_sha256(ikm, {}, "x", 0)), CryptoErrc::invalid_argument);
    EXPECT_EQ(error_of(hkdf_sha256(ikm, {}, "x", 255 * 32 + 1)), CryptoErrc::invalid_argument);
    auto longest = hkdf_sha256(ikm, {}, "x", 255 * 32);
    ASSERT_TRUE(longest.has_value());
    EXPECT_EQ(longest->size(), 255u * 32);
    // A prefix property: a shorter output is the start of a longer one.
    auto shorter = hkdf_sha256(ikm, {}, "x", 100);
    ASSERT_TRUE(shorter.has_value());
    EXPECT_TRUE(std::equal(shorter->view().begin(), shorter->view().end(), longest->view().begin()));
    Bytes too_long(255 * 32 + 1, 0xAA);
    EXPECT_EQ(hkdf_sha256_into(ikm, {}, {}, too_long).error(), CryptoErrc::invalid_argument);
    EXPECT_TRUE(std::all_of(too_long.begin(), too_long.end(), [](std::uint8_t b) { return b == 0; }));
}

TEST(Hkdf, InfoSeparatesOutputs) {
    const Bytes ikm(32, 9);
    auto a = hkdf_sha256(ikm, {}, "vaultmx a", 32);
    auto b = hkdf_sha256(ikm, {}, "vaultmx b", 32);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(a->constant_time_equal(b->view()));
}

}  // namespace
// The per-thread PRK cache gives exactly what wc_HKDF gives: more keys than the cache holds (so
// entries are evicted and refilled), keys seen again, infos on both sides of the one-job path's
// limit, and outputs shorter and longer than one hash.
TEST(HkdfTest, CachedPrkMatchesUncached) {
    for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < 20; ++k) {
            Bytes ikm(32);
            for (std::size_t i = 0; i < ikm.size(); ++i) ikm[i] = static_cast<std::uint8_t>(k * 37 + i * 11 + 1);
            for (const std::size_t info_bytes : {0u, 1u, 55u, 65u, 191u, 192u, 193u, 300u}) {
                Bytes info(info_bytes);
                for (std::size_t i = 0; i < info.size(); ++i) info[i] = static_cast<std::uint8_t>(i * 5 + k);
                for (const std::size_t out_bytes : {1u, 16u, 32u, 33u, 100u}) {
                    Bytes expected(out_bytes), got(out_bytes);
                    ASSERT_TRUE(hkdf_sha256_into(ikm, {}, info, expected).has_value());
                    ASSERT_TRUE(hkdf_sha256_cached_into(std::span<const std::uint8_t, 32>(ikm.data(), 32), info, got)
                                    .has_value());
                    EXPECT_EQ(got, expected) << "key " << k << " info " << info_bytes << " out " << out_bytes;
                }
            }
        }
    }
    hkdf_prk_cache_clear();  // entries are rebuilt after a clear
    Bytes ikm(32, 7), empty, expected(32), got(32);
    ASSERT_TRUE(hkdf_sha256_into(ikm, {}, ikm, expected).has_value());
    ASSERT_TRUE(hkdf_sha256_cached_into(std::span<const std::uint8_t, 32>(ikm.data(), 32), ikm, got).has_value());
    EXPECT_EQ(got, expected);
    EXPECT_EQ(error_of(hkdf_sha256_cached_into(std::span<const std::uint8_t, 32>(ikm.data(), 32), {}, empty)),
              CryptoErrc::invalid_argument);
}

}  // namespace vmx::crypto
