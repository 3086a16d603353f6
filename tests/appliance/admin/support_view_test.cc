// The support view's keyed hashes (appliance/admin/support_view.h): stable, bound to the key, the
// field kind and the user, never the text itself, one sender however it is written.
#include "appliance/admin/support_view.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "core/assert.h"
#include "tests/support/test_keys.h"

namespace vmx {
namespace {

crypto::SecretBytes key_for(std::uint8_t fill) {
    auto key = support_hash_key(vmx::testing::fixed_master_key(fill).material.view());
    VMX_ASSERT(key);
    return std::move(*key);
}

TEST(SupportHash, StableAndShort) {
    const auto key = key_for(0x51);
    const std::string a = support_field_hash(key.view(), SupportField::subject, 7, "Quarterly report");
    EXPECT_EQ(a.size(), support_hash_hex_chars);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(a, support_field_hash(key.view(), SupportField::subject, 7, "Quarterly report"));
    EXPECT_EQ(key_for(0x51).view().size(), support_hash_key_bytes);
}

TEST(SupportHash, DiffersByValueFieldUserAndKey) {
    const auto key = key_for(0x51);
    const std::string base = support_field_hash(key.view(), SupportField::subject, 7, "hello");
    EXPECT_NE(base, support_field_hash(key.view(), SupportField::subject, 7, "hello!"));
    EXPECT_NE(base, support_field_hash(key.view(), SupportField::sender, 7, "hello"));
    EXPECT_NE(base, support_field_hash(key.view(), SupportField::subject, 8, "hello"));
    EXPECT_NE(base, support_field_hash(key_for(0x52).view(), SupportField::subject, 7, "hello"));
}

TEST(SupportHash, IsNotThePlaintextNorAPlainDigestOfIt) {
    const auto key = key_for(0x51);
    const std::string hash = support_field_hash(key.view(), SupportField::subject, 7, "abc");
    EXPECT_EQ(hash.find("abc"), std::string::npos);
    EXPECT_NE(hash, "ba7816bf8f01");  // SHA-256("abc"), the unkeyed guess
    const std::string hex_text = support_field_hash(key.view(), SupportField::subject, 7, "0123456789ab");
    EXPECT_NE(hex_text, "0123456789ab");
}

TEST(SupportHash, OneSenderHoweverItIsWritten) {
    const auto key = key_for(0x51);
    auto sender = [&](std::string_view v) { return support_field_hash(key.view(), SupportField::sender, 7, v); };
    EXPECT_EQ(sender("Ann <ann@example.test>"), sender("ann@EXAMPLE.test"));
    EXPECT_EQ(sender("Ann <ann@example.test>"), sender("\"Ann Other\" <Ann@Example.Test> (work)"));
    EXPECT_NE(sender("Ann <ann@example.test>"), sender("Ann <bob@example.test>"));
    EXPECT_EQ(sender("not an address at all"), sender("NOT an address AT all"));
    EXPECT_EQ(normalised_field(SupportField::sender, "A <a@x.test>, b@Y.test"), "a@x.test,b@y.test");
    // Subjects are compared as read: case matters.
    EXPECT_EQ(normalised_field(SupportField::subject, "Hello World"), "Hello World");
    EXPECT_NE(support_field_hash(key.view(), SupportField::subject, 7, "Hello"),
              support_field_hash(key.view(), SupportField::subject, 7, "hello"));
}

TEST(SupportHash, HostileValuesHashToo) {
    const auto key = key_for(0x51);
    const std::string nul("a\0b", 3);
    EXPECT_NE(support_field_hash(key.view(), SupportField::sender, 7, nul),
              support_field_hash(key.view(), SupportField::sender, 7, "a"));
    const std::string huge(1 << 20, 'x');
    EXPECT_EQ(support_field_hash(key.view(), SupportField::subject, 7, huge).size(), support_hash_hex_chars);
    EXPECT_EQ(support_field_hash(key.view(), SupportField::subject, 7, "").size(), support_hash_hex_chars);
}

}  // namespace
}  // namespace vmx
