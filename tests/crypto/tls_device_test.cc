// The wolfSSL crypto-callback device: TLS 1.3 and 1.2 sessions in memory with their AES-256-GCM
// records through it, byte-identity with wolfSSL's software AES-GCM (and the per-thread key cache
// never serving a stale key), interoperation with a peer without it, tampered records, fallbacks.
#include "tests/crypto/tls_pair.h"  // includes <wolfssl/options.h> first

#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "crypto/tls_crypto_device.h"

namespace vmx::crypto {
namespace {

using test::Device;
using test::TlsPair;
using test::TlsPairOptions;
using test::TlsVersion;

constexpr std::size_t mib = 1024 * 1024;
constexpr std::size_t records_per_mib = mib / TlsPair::write_bytes_max;

TlsDeviceCounters operator-(const TlsDeviceCounters& a, const TlsDeviceCounters& b) {
    return {a.gcm_encrypts - b.gcm_encrypts, a.gcm_decrypts - b.gcm_decrypts, a.auth_failures - b.auth_failures,
            a.fallbacks - b.fallbacks};
}

// Bytes that differ from record to record, so a reordered or stale record would show.
std::string pattern(std::size_t bytes, std::uint32_t seed) {
    std::string s(bytes, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (char& c : s) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return s;
}

std::vector<std::uint8_t> pattern_bytes(std::size_t bytes, std::uint32_t seed) {
    const std::string s = pattern(bytes, seed);
    return {s.begin(), s.end()};
}

// Handshake, then `bytes` client->server and `bytes` server->client, checked byte for byte.
void exchange(TlsPair& pair, std::size_t bytes) {
    ASSERT_TRUE(pair.ok()) << pair.error();
    ASSERT_TRUE(pair.handshake()) << pair.error();
    const std::string up = pattern(bytes, 1);
    const std::string down = pattern(bytes, 2);
    std::string got_up;
    std::string got_down;
    ASSERT_TRUE(pair.transfer(pair.client(), pair.server(), up, got_up)) << pair.error();
    ASSERT_TRUE(pair.transfer(pair.server(), pair.client(), down, got_down)) << pair.error();
    EXPECT_TRUE(got_up == up) << "client->server bytes differ (" << got_up.size() << " received)";
    EXPECT_TRUE(got_down == down) << "server->client bytes differ (" << got_down.size() << " received)";
}

TEST(TlsDevice, RegistersOnceWithOneId) {
    const auto first = tls_crypto_device();
    ASSERT_TRUE(first) << first.error().message();
    const auto second = tls_crypto_device();
    ASSERT_TRUE(second);
    EXPECT_EQ(*first, *second);
    EXPECT_NE(*first, INVALID_DEVID);
}

TEST(TlsDevice, Tls13Aes256GcmRecordsGoThroughTheDevice) {
    const auto before = tls_device_counters();
    TlsPair pair({.version = TlsVersion::tls13, .cipher_list = "TLS13-AES256-GCM-SHA384"});
    exchange(pair, mib);
    EXPECT_STREQ(wolfSSL_get_cipher_name(pair.client()), "TLS13-AES256-GCM-SHA384");
    const auto d = tls_device_counters() - before;
    // Both ends use the device: each 1 MiB is sealed once and opened once, 64 records each way.
    EXPECT_GE(d.gcm_encrypts, 2 * records_per_mib);
    EXPECT_GE(d.gcm_decrypts, 2 * records_per_mib);
    EXPECT_EQ(d.auth_failures, 0u);
    EXPECT_EQ(d.fallbacks, 0u);
}

TEST(TlsDevice, Tls12EcdheEcdsaAes256GcmRecordsGoThroughTheDevice) {
    const auto before = tls_device_counters();
    TlsPair pair({.version = TlsVersion::tls12, .cipher_list = "ECDHE-ECDSA-AES256-GCM-SHA384"});
    exchange(pair, mib);
    EXPECT_STREQ(wolfSSL_get_version(pair.client()), "TLSv1.2");
    EXPECT_STREQ(wolfSSL_get_cipher_name(pair.client()), "ECDHE-ECDSA-AES256-GCM-SHA384");
    const auto d = tls_device_counters() - before;
    EXPECT_GE(d.gcm_encrypts, 2 * records_per_mib);
    EXPECT_GE(d.gcm_decrypts, 2 * records_per_mib);
    EXPECT_EQ(d.auth_failures, 0u);
    EXPECT_EQ(d.fallbacks, 0u);
}

TEST(TlsDevice, SoftwareClientInteroperatesWithDeviceServer) {
    const auto before = tls_device_counters();
    TlsPair pair({.cipher_list = "TLS13-AES256-GCM-SHA384", .client_device = Device::software,
                  .server_device = Device::ours});
    exchange(pair, mib);
    const auto d = tls_device_counters() - before;
    // Only the server's records: it seals what goes down and opens what comes up.
    EXPECT_GE(d.gcm_encrypts, records_per_mib);
    EXPECT_GE(d.gcm_decrypts, records_per_mib);
    EXPECT_LT(d.gcm_encrypts, 2 * records_per_mib);
    EXPECT_LT(d.gcm_decrypts, 2 * records_per_mib);
}

TEST(TlsDevice, TamperedRecordFailsTheReaderAndCountsAnAuthFailure) {
    TlsPair pair({.cipher_list = "TLS13-AES256-GCM-SHA384"});
    ASSERT_TRUE(pair.ok()) << pair.error();
    ASSERT_TRUE(pair.handshake()) << pair.error();
    std::string got;
    ASSERT_TRUE(pair.read_available(pair.client(), got)) << pair.error();  // session tickets, if any
    ASSERT_EQ(pair.to_client().unread(), 0u);

    const auto before = tls_device_counters();
    ASSERT_TRUE(pair.write(pair.server(), pattern(1000, 3))) << pair.error();
    test::Pipe& wire = pair.to_client();
    ASSERT_GT(wire.unread(), 1000u);
    char& victim = wire.wire[wire.read_at + 5 + 500];  // past the 5-byte record header, in the ciphertext
    victim = static_cast<char>(victim ^ 0x04);

    EXPECT_FALSE(pair.read_available(pair.client(), got));
    EXPECT_TRUE(got.empty()) << "unauthenticated bytes reached the application";
    const auto d = tls_device_counters() - before;
    EXPECT_EQ(d.auth_failures, 1u);
    EXPECT_EQ(d.gcm_decrypts, 0u);
}

TEST(TlsDevice, Aes128GcmFallsBackToSoftwareAndIsCounted) {
    const auto before = tls_device_counters();
    TlsPair pair({.cipher_list = "TLS13-AES128-GCM-SHA256"});
    exchange(pair, 64 * 1024);
    EXPECT_STREQ(wolfSSL_get_cipher_name(pair.client()), "TLS13-AES128-GCM-SHA256");
    const auto d = tls_device_counters() - before;
    EXPECT_GE(d.fallbacks, 2 * 4u);  // at least the 4 data records each way
    EXPECT_EQ(d.gcm_encrypts, 0u);
    EXPECT_EQ(d.gcm_decrypts, 0u);
}

// wolfCrypt's AES-GCM on one key, with the device or without it.
struct Gcm {
    std::vector<std::uint8_t> key;
    std::vector<std::uint8_t> iv;
    std::vector<std::uint8_t> aad;
    std::vector<std::uint8_t> text;  // plaintext in, ciphertext out (or the reverse)
    std::vector<std::uint8_t> tag;
};

int encrypt(int dev_id, Gcm& g) {
    Aes aes;
    if (wc_AesInit(&aes, nullptr, dev_id) != 0) return -1;
    int ret = wc_AesGcmSetKey(&aes, g.key.data(), static_cast<word32>(g.key.size()));
    std::vector<std::uint8_t> out(g.text.size() + 1);  // never a null pointer, even for 0 bytes
    if (ret == 0) {
        ret = wc_AesGcmEncrypt(&aes, out.data(), g.text.data(), static_cast<word32>(g.text.size()), g.iv.data(),
                               static_cast<word32>(g.iv.size()), g.tag.data(), static_cast<word32>(g.tag.size()),
                               g.aad.data(), static_cast<word32>(g.aad.size()));
    }
    out.resize(g.text.size());
    g.text = out;
    wc_AesFree(&aes);
    return ret;
}

int decrypt(int dev_id, Gcm& g) {
    Aes aes;
    if (wc_AesInit(&aes, nullptr, dev_id) != 0) return -1;
    int ret = wc_AesGcmSetKey(&aes, g.key.data(), static_cast<word32>(g.key.size()));
    std::vector<std::uint8_t> out(g.text.size() + 1);
    if (ret == 0) {
        ret = wc_AesGcmDecrypt(&aes, out.data(), g.text.data(), static_cast<word32>(g.text.size()), g.iv.data(),
                               static_cast<word32>(g.iv.size()), g.tag.data(), static_cast<word32>(g.tag.size()),
                               g.aad.data(), static_cast<word32>(g.aad.size()));
    }
    out.resize(g.text.size());
    g.text = out;
    wc_AesFree(&aes);
    return ret;
}

Gcm case_of(std::size_t key_bytes, std::size_t iv_bytes, std::size_t aad_bytes, std::size_t text_bytes,
            std::size_t tag_bytes, std::uint32_t seed) {
    return {pattern_bytes(key_bytes, seed), pattern_bytes(iv_bytes, seed + 1), pattern_bytes(aad_bytes, seed + 2),
            pattern_bytes(text_bytes, seed + 3), std::vector<std::uint8_t>(tag_bytes)};
}

int device_id() {
    const auto id = tls_crypto_device();
    VMX_ASSERT(id.has_value());
    return *id;
}

TEST(TlsDevice, SealIsByteIdenticalToWolfsslSoftwareAndOpens) {
    const std::size_t text_sizes[] = {0, 1, 15, 16, 17, 255, 1000, 16384 + 17, 65536 + 3};
    const std::size_t aad_sizes[] = {0, 5, 13, 29};
    const std::size_t tag_sizes[] = {16, 12};
    std::uint32_t seed = 10;
    for (const std::size_t text_bytes : text_sizes) {
        for (const std::size_t aad_bytes : aad_sizes) {
            for (const std::size_t tag_bytes : tag_sizes) {
                SCOPED_TRACE(testing::Message() << "text " << text_bytes << " aad " << aad_bytes << " tag " << tag_bytes);
                const Gcm plain = case_of(32, 12, aad_bytes, text_bytes, tag_bytes, seed += 4);
                Gcm software = plain;
                Gcm device = plain;
                const auto before = tls_device_counters();
                ASSERT_EQ(encrypt(INVALID_DEVID, software), 0);
                ASSERT_EQ(encrypt(device_id(), device), 0);
                EXPECT_EQ(device.text, software.text);
                EXPECT_EQ(device.tag, software.tag);
                ASSERT_EQ(decrypt(device_id(), device), 0);
                EXPECT_EQ(device.text, plain.text);
                const auto d = tls_device_counters() - before;
                EXPECT_EQ(d.gcm_encrypts, 1u);
                EXPECT_EQ(d.gcm_decrypts, 1u);
            }
        }
    }
}

TEST(TlsDevice, FlippedTagBitFailsWithTheDeviceAsInSoftware) {
    Gcm sealed = case_of(32, 12, 13, 1000, 16, 77);
    ASSERT_EQ(encrypt(device_id(), sealed), 0);
    for (const std::size_t bit : {0u, 77u, 127u}) {
        Gcm device = sealed;
        device.tag[bit / 8] = static_cast<std::uint8_t>(device.tag[bit / 8] ^ (1u << (bit % 8)));
        Gcm software = device;
        const auto before = tls_device_counters();
        EXPECT_EQ(decrypt(device_id(), device), AES_GCM_AUTH_E) << bit;
        EXPECT_EQ(decrypt(INVALID_DEVID, software), AES_GCM_AUTH_E) << bit;
        EXPECT_EQ(device.text, std::vector<std::uint8_t>(1000, 0)) << "unauthenticated plaintext left";
        EXPECT_EQ((tls_device_counters() - before).auth_failures, 1u);
    }
}

// The same Aes object re-keyed (as wolfSSL does after a TLS 1.3 key update, or when a freed Aes is
// reused) must never meet the expanded key cached for its old key.
TEST(TlsDevice, RekeyedAesNeverUsesAStaleCachedKey) {
    Aes aes;
    ASSERT_EQ(wc_AesInit(&aes, nullptr, device_id()), 0);
    for (std::uint32_t round = 0; round < 6; ++round) {
        const Gcm plain = case_of(32, 12, 13, 4096, 16, 1000 + round % 3);  // keys alternate: A B C A B C
        Gcm software = plain;
        ASSERT_EQ(encrypt(INVALID_DEVID, software), 0);
        ASSERT_EQ(wc_AesGcmSetKey(&aes, plain.key.data(), 32), 0);
        std::vector<std::uint8_t> out(plain.text.size());
        std::vector<std::uint8_t> tag(16);
        ASSERT_EQ(wc_AesGcmEncrypt(&aes, out.data(), plain.text.data(), 4096, plain.iv.data(), 12, tag.data(), 16,
                                   plain.aad.data(), 13),
                  0);
        EXPECT_EQ(out, software.text) << round;
        EXPECT_EQ(tag, software.tag) << round;
    }
    wc_AesFree(&aes);
}

TEST(TlsDevice, OtherIvSizesAndKeySizesFallBackToIdenticalSoftware) {
    struct Shape {
        std::size_t key_bytes;
        std::size_t iv_bytes;
    };
    for (const Shape shape : {Shape{32, 16}, Shape{32, 8}, Shape{16, 12}, Shape{24, 12}}) {
        SCOPED_TRACE(testing::Message() << "key " << shape.key_bytes << " iv " << shape.iv_bytes);
        const Gcm plain = case_of(shape.key_bytes, shape.iv_bytes, 20, 3000, 16, 500);
        Gcm software = plain;
        Gcm device = plain;
        const auto before = tls_device_counters();
        ASSERT_EQ(encrypt(INVALID_DEVID, software), 0);
        ASSERT_EQ(encrypt(device_id(), device), 0);
        EXPECT_EQ(device.text, software.text);
        EXPECT_EQ(device.tag, software.tag);
        ASSERT_EQ(decrypt(device_id(), device), 0);
        EXPECT_EQ(device.text, plain.text);
        const auto d = tls_device_counters() - before;
        EXPECT_EQ(d.fallbacks, 2u);
        EXPECT_EQ(d.gcm_encrypts + d.gcm_decrypts, 0u);
    }
}

// Each thread has its own key cache; many threads sealing with many keys still match software.
TEST(TlsDevice, ThreadsSealWithTheirOwnKeysIdentically) {
    constexpr int threads_count = 4;
    std::array<int, threads_count> mismatches{};
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_count; ++t) {
        threads.emplace_back([t, &mismatches] {
            for (std::uint32_t i = 0; i < 200; ++i) {
                const Gcm plain = case_of(32, 12, 13, 700, 16, static_cast<std::uint32_t>(t) * 1000 + i % 37);
                Gcm software = plain;
                Gcm device = plain;
                if (encrypt(INVALID_DEVID, software) != 0 || encrypt(device_id(), device) != 0 ||
                    device.text != software.text || device.tag != software.tag) {
                    ++mismatches[static_cast<std::size_t>(t)];
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(mismatches, (std::array<int, threads_count>{}));
}

// wolfCrypt clears its device table on its first initialisation; the device holds a reference so
// that an application's wolfSSL_Init/wolfSSL_Cleanup pairs never unregister it.
TEST(TlsDevice, SurvivesWolfsslInitAndCleanup) {
    ASSERT_TRUE(tls_crypto_device());
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(wolfSSL_Init(), WOLFSSL_SUCCESS);
        ASSERT_EQ(wolfSSL_Cleanup(), WOLFSSL_SUCCESS);
    }
    Gcm g = case_of(32, 12, 0, 100, 16, 9);
    const auto before = tls_device_counters();
    ASSERT_EQ(encrypt(device_id(), g), 0);
    EXPECT_EQ((tls_device_counters() - before).gcm_encrypts, 1u);
}

}  // namespace
}  // namespace vmx::crypto
