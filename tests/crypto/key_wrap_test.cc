// AES Key Wrap: the RFC 3394 section 4 vectors with a 256-bit KEK (4.3, 4.5, 4.6), unwrap of each,
// every single-bit tamper of the wrapped blob, wrong KEK, size checks, a differential test against
// wolfCrypt's wc_AesKeyWrap, and use from several threads (one job manager per thread).
#include "crypto/key_wrap.h"

#include <gtest/gtest.h>

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
// clang-format on

#include <algorithm>
#include <array>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/errc.h"

namespace vmx::crypto {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hex(std::string_view text) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    return out;
}

const std::array<std::uint8_t, 32> kek = [] {
    std::array<std::uint8_t, 32> k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i);  // 000102...1F
    return k;
}();

struct Vector {
    const char* section;
    const char* key;
    const char* wrapped;
};

const Vector vectors[] = {
    {"4.3", "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
    {"4.5", "00112233445566778899AABBCCDDEEFF0001020304050607",
     "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
    {"4.6", "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
     "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
};

bool all_zero(const Bytes& b) {
    return std::all_of(b.begin(), b.end(), [](std::uint8_t x) { return x == 0; });
}

TEST(KeyWrap, Rfc3394VectorsWithA256BitKek) {
    for (const Vector& v : vectors) {
        SCOPED_TRACE(v.section);
        const Bytes key = hex(v.key), wrapped = hex(v.wrapped);
        Bytes out(key.size() + 8);
        ASSERT_TRUE(key_wrap(kek, key, out).has_value());
        EXPECT_EQ(out, wrapped);
        Bytes back(key.size());
        ASSERT_TRUE(key_unwrap(kek, wrapped, back).has_value());
        EXPECT_EQ(back, key);
    }
}

TEST(KeyWrap, EveryTamperedBitFails) {
    for (const Vector& v : vectors) {
        SCOPED_TRACE(v.section);
        const Bytes wrapped = hex(v.wrapped);
        for (std::size_t bit = 0; bit < wrapped.size() * 8; ++bit) {
            Bytes tampered = wrapped;
            tampered[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            Bytes out(wrapped.size() - 8, 0xAA);
            auto r = key_unwrap(kek, tampered, out);
            ASSERT_FALSE(r.has_value()) << bit;
            EXPECT_EQ(r.error(), CryptoErrc::authentication_failed);
            EXPECT_TRUE(all_zero(out));
        }
        // Semiblocks swapped or replaced by another vector's: also caught.
        Bytes swapped = wrapped;
        std::swap_ranges(swapped.begin() + 8, swapped.begin() + 16, swapped.begin() + 16);
        Bytes out(wrapped.size() - 8);
        EXPECT_EQ(key_unwrap(kek, swapped, out).error(), CryptoErrc::authentication_failed);
    }
}

TEST(KeyWrap, WrongKekFails) {
    auto other = kek;
    other[31] ^= 1;
    const Bytes wrapped = hex(vectors[2].wrapped);
    Bytes out(32, 0xAA);
    EXPECT_EQ(key_unwrap(other, wrapped, out).error(), CryptoErrc::authentication_failed);
    EXPECT_TRUE(all_zero(out));
}

TEST(KeyWrap, SizesAreChecked) {
    Bytes out(64, 0xAA);
    EXPECT_EQ(key_wrap(kek, Bytes(8), std::span(out).first(16)).error(), CryptoErrc::invalid_argument);   // < 16
    EXPECT_EQ(key_wrap(kek, Bytes(20), std::span(out).first(28)).error(), CryptoErrc::invalid_argument);  // not 8k
    EXPECT_EQ(key_wrap(kek, Bytes(16), std::span(out).first(23)).error(), CryptoErrc::invalid_argument);  // out short
    EXPECT_EQ(key_wrap(kek, Bytes(16), std::span(out).first(32)).error(), CryptoErrc::invalid_argument);  // out long
    EXPECT_EQ(key_unwrap(kek, Bytes(16), std::span(out).first(8)).error(), CryptoErrc::invalid_argument);
    EXPECT_EQ(key_unwrap(kek, Bytes(25), std::span(out).first(17)).error(), CryptoErrc::invalid_argument);
    EXPECT_EQ(key_unwrap(kek, Bytes(24), std::span(out).first(24)).error(), CryptoErrc::invalid_argument);
    EXPECT_EQ(key_unwrap(kek, Bytes(), std::span<std::uint8_t>()).error(), CryptoErrc::invalid_argument);
    EXPECT_TRUE(all_zero(Bytes(out.begin(), out.begin() + 32)));
}

TEST(KeyWrap, InPlace) {
    const Bytes key = hex(vectors[2].key);
    Bytes buffer(key.size() + 8);
    std::copy(key.begin(), key.end(), buffer.begin());
    ASSERT_TRUE(key_wrap(kek, std::span(buffer).first(key.size()), buffer).has_value());  // overlapping
    EXPECT_EQ(buffer, hex(vectors[2].wrapped));
    ASSERT_TRUE(key_unwrap(kek, buffer, std::span(buffer).first(key.size())).has_value());
    EXPECT_EQ(Bytes(buffer.begin(), buffer.begin() + 32), key);
}

TEST(KeyWrap, MatchesWolfCryptForManySizes) {
    std::mt19937 rng(3394);
    for (std::size_t bytes = 16; bytes <= 512; bytes += 8) {
        std::array<std::uint8_t, 32> k{};
        Bytes key(bytes);
        for (auto& b : k) b = static_cast<std::uint8_t>(rng());
        for (auto& b : key) b = static_cast<std::uint8_t>(rng());
        Bytes ours(bytes + 8), theirs(bytes + 8);
        ASSERT_TRUE(key_wrap(k, key, ours).has_value());
        ASSERT_EQ(wc_AesKeyWrap(k.data(), 32, key.data(), static_cast<word32>(bytes), theirs.data(),
                                static_cast<word32>(theirs.size()), nullptr),
                  static_cast<int>(theirs.size()));
        ASSERT_EQ(ours, theirs) << bytes;
        Bytes back(bytes);
        ASSERT_TRUE(key_unwrap(k, ours, back).has_value());
        ASSERT_EQ(back, key);
    }
}

TEST(KeyWrap, ConcurrentThreads) {
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 500; ++i) {
                const Vector& v = vectors[static_cast<std::size_t>(i % 3)];
                const Bytes key = hex(v.key);
                Bytes out(key.size() + 8), back(key.size());
                if (!key_wrap(kek, key, out) || out != hex(v.wrapped)) ++failures[static_cast<std::size_t>(t)];
                if (!key_unwrap(kek, out, back) || back != key) ++failures[static_cast<std::size_t>(t)];
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace vmx::crypto
