// AES-256-GCM through ipsec-mb: the published AES-256 test vectors (McGrew & Viega, "The Galois/
// Counter Mode of Operation", test cases 13-16; 96-bit IVs only), every-bit tampering, in-place
// operation, large buffers, truncated tags, concurrency on one shared key, and a differential test
// against wolfCrypt's software GCM (the TLS path must produce the same bytes).
#include "crypto/aead.h"

#include <gtest/gtest.h>

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/aes.h>
// clang-format on

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/errc.h"
#include "crypto/random.h"

namespace vmx::crypto {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hex(std::string_view text) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    return out;
}

std::array<std::uint8_t, 32> key_of(std::string_view text) {
    std::array<std::uint8_t, 32> k{};
    const Bytes b = hex(text);
    std::copy(b.begin(), b.end(), k.begin());
    return k;
}

std::array<std::uint8_t, 12> iv_of(std::string_view text) {
    std::array<std::uint8_t, 12> iv{};
    const Bytes b = hex(text);
    std::copy(b.begin(), b.end(), iv.begin());
    return iv;
}

struct Vector {
    const char* name;
    const char* key;
    const char* iv;
    const char* plaintext;
    const char* aad;
    const char* ciphertext;
    const char* tag;
};

constexpr const char* k15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
constexpr const char* p15 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";
constexpr const char* c15 =
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad";

const Vector vectors[] = {
    {"TestCase13", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"TestCase14", "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "00000000000000000000000000000000", "", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"TestCase15", k15, "cafebabefacedbaddecaf888", p15, "", c15, "b094dac5d93471bdec1a502270e3cc6c"},
    // Test case 16: the first 60 bytes of case 15 with 20 bytes of AAD.
    {"TestCase16", k15, "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aead, ImplementationNamesTheChosenPath) {
    const std::string name = aead_implementation();
    EXPECT_EQ(name.rfind("ipsec-mb ", 0), 0u) << name;
    EXPECT_EQ(name.find("unknown"), std::string::npos) << name;
    std::printf("AES-GCM implementation: %s\n", name.c_str());
}

TEST(Aead, PublishedVectorsSealAndOpen) {
    for (const Vector& v : vectors) {
        SCOPED_TRACE(v.name);
        const AesGcmKey key(key_of(v.key));
        const auto iv = iv_of(v.iv);
        const Bytes plaintext = hex(v.plaintext), aad = hex(v.aad), ciphertext = hex(v.ciphertext), tag = hex(v.tag);
        Bytes out(plaintext.size());
        Bytes out_tag(16);
        gcm_seal(key, iv, aad, plaintext, out.data(), out_tag);
        EXPECT_EQ(out, ciphertext);
        EXPECT_EQ(out_tag, tag);
        Bytes back(ciphertext.size(), 0xAA);
        ASSERT_TRUE(gcm_open(key, iv, aad, ciphertext, back.data(), tag).has_value());
        EXPECT_EQ(back, plaintext);
    }
}

// Every single-bit change of the ciphertext, tag, IV or AAD of test case 16 must fail, and leave a
// zeroed output.
TEST(Aead, EveryFlippedBitFails) {
    const Vector& v = vectors[3];
    const AesGcmKey key(key_of(v.key));
    const auto iv = iv_of(v.iv);
    const Bytes aad = hex(v.aad), ciphertext = hex(v.ciphertext), tag = hex(v.tag);
    Bytes out(ciphertext.size());
    auto expect_failure = [&](std::span<const std::uint8_t, 12> i, const Bytes& a, const Bytes& c, const Bytes& t) {
        std::fill(out.begin(), out.end(), 0xAA);
        auto r = gcm_open(key, i, a, c, out.data(), t);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error(), CryptoErrc::authentication_failed);
        EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0; }));
    };
    int cases = 0;
    for (std::size_t bit = 0; bit < ciphertext.size() * 8; ++bit, ++cases) {
        Bytes c = ciphertext;
        c[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        expect_failure(iv, aad, c, tag);
    }
    for (std::size_t bit = 0; bit < tag.size() * 8; ++bit, ++cases) {
        Bytes t = tag;
        t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        expect_failure(iv, aad, ciphertext, t);
    }
    for (std::size_t bit = 0; bit < iv.size() * 8; ++bit, ++cases) {
        auto i = iv;
        i[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        expect_failure(i, aad, ciphertext, tag);
    }
    for (std::size_t bit = 0; bit < aad.size() * 8; ++bit, ++cases) {
        Bytes a = aad;
        a[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        expect_failure(iv, a, ciphertext, tag);
    }
    EXPECT_EQ(cases, (60 + 16 + 12 + 20) * 8);
    // Lengths are authenticated too: a byte more or less of AAD or ciphertext fails.
    Bytes longer_aad = aad;
    longer_aad.push_back(0);
    expect_failure(iv, longer_aad, ciphertext, tag);
    expect_failure(iv, Bytes(aad.begin(), aad.end() - 1), ciphertext, tag);
    out.resize(ciphertext.size() - 1);
    expect_failure(iv, aad, Bytes(ciphertext.begin(), ciphertext.end() - 1), tag);
}

TEST(Aead, InPlace) {
    const Vector& v = vectors[3];
    const AesGcmKey key(key_of(v.key));
    const auto iv = iv_of(v.iv);
    const Bytes aad = hex(v.aad);
    Bytes buffer = hex(v.plaintext);
    Bytes tag(16);
    gcm_seal(key, iv, aad, buffer, buffer.data(), tag);
    EXPECT_EQ(buffer, hex(v.ciphertext));
    EXPECT_EQ(tag, hex(v.tag));
    ASSERT_TRUE(gcm_open(key, iv, aad, buffer, buffer.data(), tag).has_value());
    EXPECT_EQ(buffer, hex(v.plaintext));
}

TEST(Aead, LargeBufferRoundTrip) {
    std::array<std::uint8_t, 32> raw{};
    std::array<std::uint8_t, 12> iv{};
    ASSERT_TRUE(random_bytes(raw) && random_bytes(iv));
    const AesGcmKey key(raw);
    Bytes plaintext((1 << 20) + 13);  // 1 MiB and a partial block
    ASSERT_TRUE(random_bytes(plaintext));
    const Bytes aad = {1, 2, 3};
    Bytes ciphertext(plaintext.size());
    Bytes tag(16);
    gcm_seal(key, iv, aad, plaintext, ciphertext.data(), tag);
    EXPECT_NE(ciphertext, plaintext);
    Bytes back(ciphertext.size());
    ASSERT_TRUE(gcm_open(key, iv, aad, ciphertext, back.data(), tag).has_value());
    EXPECT_EQ(back, plaintext);
    ciphertext[ciphertext.size() / 2] ^= 1;
    EXPECT_FALSE(gcm_open(key, iv, aad, ciphertext, back.data(), tag).has_value());
}

TEST(Aead, TruncatedTags) {
    const Vector& v = vectors[3];
    const AesGcmKey key(key_of(v.key));
    const auto iv = iv_of(v.iv);
    const Bytes plaintext = hex(v.plaintext), aad = hex(v.aad), full_tag = hex(v.tag);
    Bytes out(plaintext.size());
    for (std::size_t t = gcm_tag_bytes_min; t <= gcm_tag_bytes; ++t) {
        SCOPED_TRACE(t);
        Bytes tag(t);
        gcm_seal(key, iv, aad, plaintext, out.data(), tag);
        EXPECT_EQ(tag, Bytes(full_tag.begin(), full_tag.begin() + static_cast<std::ptrdiff_t>(t)));  // leftmost t bytes
        Bytes back(out.size());
        ASSERT_TRUE(gcm_open(key, iv, aad, out, back.data(), tag).has_value());
        EXPECT_EQ(back, plaintext);
        tag.back() ^= 0x01;
        EXPECT_EQ(gcm_open(key, iv, aad, out, back.data(), tag).error(), CryptoErrc::authentication_failed);
    }
    // Tags outside 12..16 bytes are refused, whatever they contain.
    for (std::size_t t : {0u, 4u, 8u, 11u, 17u}) {
        const Bytes tag(full_tag.begin(), full_tag.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(t, 16)));
        Bytes too_long = full_tag;
        too_long.push_back(0);
        Bytes back(out.size(), 0xAA);
        auto r = gcm_open(key, iv, aad, hex(v.ciphertext), back.data(), t == 17 ? too_long : tag);
        ASSERT_FALSE(r.has_value()) << t;
        EXPECT_EQ(r.error(), CryptoErrc::invalid_argument);
        EXPECT_TRUE(std::all_of(back.begin(), back.end(), [](std::uint8_t b) { return b == 0; }));
    }
}

TEST(Aead, MovedKeyKeepsWorking) {
    AesGcmKey a(key_of(vectors[2].key));
    AesGcmKey b(std::move(a));
    AesGcmKey c(key_of(vectors[0].key));
    c = std::move(b);
    Bytes out(60);
    Bytes tag(16);
    gcm_seal(c, iv_of(vectors[3].iv), hex(vectors[3].aad), hex(vectors[3].plaintext), out.data(), tag);
    EXPECT_EQ(tag, hex(vectors[3].tag));
}

// Many threads on one shared key and the shared manager give the single-threaded answer.
TEST(Aead, ConcurrentUseOfOneKey) {
    const Vector& v = vectors[2];
    const AesGcmKey key(key_of(v.key));
    const auto iv = iv_of(v.iv);
    const Bytes plaintext = hex(v.plaintext), ciphertext = hex(v.ciphertext), tag = hex(v.tag);
    std::vector<int> failures(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            Bytes out(plaintext.size()), out_tag(16), back(plaintext.size());
            for (int i = 0; i < 5000; ++i) {
                gcm_seal(key, iv, {}, plaintext, out.data(), out_tag);
                if (out != ciphertext || out_tag != tag) ++failures[static_cast<std::size_t>(t)];
                if (!gcm_open(key, iv, {}, out, back.data(), out_tag) || back != plaintext) ++failures[static_cast<std::size_t>(t)];
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// ipsec-mb against wolfCrypt's software AES-GCM for every plaintext length 0..300 and assorted AAD
// lengths: the wolfSSL crypto callback relies on the two producing identical records.
TEST(Aead, MatchesWolfCryptSoftwareGcm) {
    std::mt19937 rng(20240611);
    for (std::size_t length = 0; length <= 300; ++length) {
        const std::size_t aad_length = (length * 7) % 53;
        std::array<std::uint8_t, 32> raw{};
        std::array<std::uint8_t, 12> iv{};
        Bytes plaintext(length), aad(aad_length);
        for (auto& b : raw) b = static_cast<std::uint8_t>(rng());
        for (auto& b : iv) b = static_cast<std::uint8_t>(rng());
        for (auto& b : plaintext) b = static_cast<std::uint8_t>(rng());
        for (auto& b : aad) b = static_cast<std::uint8_t>(rng());

        const AesGcmKey key(raw);
        Bytes ours(length), our_tag(16);
        gcm_seal(key, iv, aad, plaintext, ours.data(), our_tag);

        Aes aes;
        ASSERT_EQ(wc_AesInit(&aes, nullptr, INVALID_DEVID), 0);
        ASSERT_EQ(wc_AesGcmSetKey(&aes, raw.data(), static_cast<word32>(raw.size())), 0);
        Bytes theirs(length), their_tag(16);
        ASSERT_EQ(wc_AesGcmEncrypt(&aes, theirs.data(), plaintext.data(), static_cast<word32>(length), iv.data(),
                                   static_cast<word32>(iv.size()), their_tag.data(), static_cast<word32>(their_tag.size()),
                                   aad.data(), static_cast<word32>(aad.size())),
                  0);
        wc_AesFree(&aes);
        ASSERT_EQ(ours, theirs) << "length " << length;
        ASSERT_EQ(our_tag, their_tag) << "length " << length;
    }
}

}  // namespace
}  // namespace vmx::crypto
