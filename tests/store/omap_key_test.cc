// The RADOS backend's omap naming (store/omap_key.h): byte order kept, scans start exactly at their
// key, hostile names refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "store/omap_key.h"

namespace vmx::store {
namespace {

ByteString random_key(std::mt19937& rng) {
    ByteString k(1 + rng() % 6);
    for (auto& b : k) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? (rng() % 2 ? 0x00 : 0xff) : rng());
    return k;
}

TEST(OmapKey, RoundTripsAndKeepsTheKeyOrder) {
    std::mt19937 rng(11);  // NOLINT(cert-msc51-cpp): a fixed seed repeats a failure
    std::vector<ByteString> keys;
    keys.reserve(2000);
    for (int i = 0; i < 2000; ++i) keys.push_back(random_key(rng));
    for (const auto& k : keys) {
        const std::string name = omap_key("records", k);
        EXPECT_EQ(name.find('\0'), std::string::npos);
        auto back = omap_key_decode("records", name);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, k);
    }
    for (int i = 0; i + 1 < static_cast<int>(keys.size()); ++i) {
        const auto& a = keys[i];
        const auto& b = keys[i + 1];
        EXPECT_EQ(a < b, omap_key("t", a) < omap_key("t", b));
    }
}

// The omap returns names > start_after: exactly the keys >= from, whatever from is.
TEST(OmapKey, ScanStartsAtTheFirstKeyNotBelowFrom) {
    std::mt19937 rng(12);  // NOLINT(cert-msc51-cpp): a fixed seed repeats a failure
    for (int round = 0; round < 300; ++round) {
        std::vector<ByteString> keys;
        keys.reserve(40);
        for (int i = 0; i < 40; ++i) keys.push_back(random_key(rng));
        const ByteString from = round % 10 == 0 ? ByteString{} : random_key(rng);
        const std::string start = omap_scan_start_after("t", from);
        for (const auto& k : keys) EXPECT_EQ(omap_key("t", k) > start, k >= from) << round;
        // A neighbouring table's names never fall into this one's prefix.
        EXPECT_FALSE(omap_key("t2", keys[0]).starts_with(omap_prefix("t")));
    }
}

TEST(OmapKey, RefusesAnotherTablesAndMalformedNames) {
    EXPECT_FALSE(omap_key_decode("records", "other/00"));
    EXPECT_FALSE(omap_key_decode("records", "records/"));
    EXPECT_FALSE(omap_key_decode("records", "records/0"));
    EXPECT_FALSE(omap_key_decode("records", "records/0G"));
    EXPECT_FALSE(omap_key_decode("records", "records/AB"));  // upper case is not ours
    EXPECT_FALSE(omap_key_decode("records", "recordsx00"));
    EXPECT_FALSE(omap_key_decode("rec", "records/00"));
}

TEST(OmapKey, ValuesCarryAMarkerSoEmptyIsNotAbsent) {
    const ByteString empty = omap_value({});
    ASSERT_EQ(empty.size(), 1U);
    auto back = omap_value_decode(empty);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->empty());
    EXPECT_FALSE(omap_value_decode(ByteString{}));
    EXPECT_FALSE(omap_value_decode(ByteString{0x02, 0x41}));
    const ByteString v{0x00, 0x01, 0xff};
    auto round = omap_value_decode(omap_value(v));
    ASSERT_TRUE(round);
    EXPECT_EQ(*round, v);
}

TEST(OmapKey, ABodySizedValueIsAReferenceToAnObjectOfItsOwn) {
    EXPECT_FALSE(omap_value_outside(omap_inline_max));
    EXPECT_TRUE(omap_value_outside(omap_inline_max + 1));
    ValueDigest digest{};
    for (std::size_t i = 0; i < digest.size(); ++i) digest[i] = static_cast<std::uint8_t>(0xa0 + i);
    const ByteString ref = omap_reference(digest);
    ASSERT_EQ(ref.size(), 33U);
    EXPECT_EQ(ref[0], omap_reference_marker);
    EXPECT_EQ(omap_reference_decode(ref), digest);
    EXPECT_FALSE(omap_value_decode(ref));  // never taken for an inline value
    EXPECT_FALSE(omap_reference_decode(omap_value(ByteString(32, 0x01))));
    EXPECT_FALSE(omap_reference_decode(ByteString(ref.begin(), ref.end() - 1)));  // short
    ByteString long_ref = ref;
    long_ref.push_back(0);
    EXPECT_FALSE(omap_reference_decode(long_ref));
    EXPECT_EQ(value_object_name("mail.0003", digest),
              "mail.0003.v.a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
}

}  // namespace
}  // namespace vmx::store
