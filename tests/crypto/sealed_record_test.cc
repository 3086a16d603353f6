// Sealed records (one-chunk streams, format v2): round trips, golden records of both format versions
// built independently from the documented formats, failure on every flipped bit / truncation /
// identity change / wrong key / swapped part, rewrap without touching the body, peek_key, freshness
// of each seal, format-version handling, and version 1 records side by side with version 2 ones.
#include "crypto/sealed_record.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"
#include "crypto/random.h"
#include "tests/crypto/sealed_test_values.h"
#include "tests/crypto/sealed_v1_writer.h"

namespace vmx::crypto {
namespace {

using namespace sealed_test;

Bytes seal_ok(const Key& key, const RecordIdentity& id, const Bytes& plaintext) {
    auto r = seal(key, id, plaintext);
    EXPECT_TRUE(r.has_value());
    return r ? *r : Bytes{};
}

std::error_code open_error(const Key& key, const RecordIdentity& id, const Bytes& record) {
    auto r = open(key, id, record);
    return r ? std::error_code{} : r.error();
}

// Written by a separate Python program (cryptography + hmac) from the format comment in
// sealed_record.h, with DEK a0..bf and IV 10..1b: pins the on-disk format and checks that the code
// does what the documentation says. Version 1 (no longer written, still read):
constexpr std::string_view golden_record_v1 =
    "767801008877665544332211030000005cfe87c4670adef2507ce86f110206a0d3567a5408d84efa25e2660432e5"
    "fcb38b80d9322a6a0b73101112131415161718191a1bd2c41a63e467d4f2ff010d7ce95fd99a9c207bc2e5f2b9aa"
    "3cf76f43666e8b247ec69d13d8eeea1e7900a65f";
// Version 2, a one-chunk stream (head and final), wrap IV 10..1b (Python cryptography's AESGCM and
// HKDF, from the same comment).
constexpr std::string_view golden_record_v2 =
    "76780203887766554433221103000000101112131415161718191a1b0e9ba6f5ed9290a2e006e044a40a9025655d"
    "1cc3b671524d6c3840b03f1bc74788abfe63d0164cc60715b1623492b99e511a85c23889e748b9f33f75b6197711"
    "8c84eafa494cf70b283ab17ba21b7c2f4634b80502f41ac47890e47d";

TEST(SealedRecord, OpensTheGoldenRecords) {
    for (const std::string_view golden : {golden_record_v1, golden_record_v2}) {
        const Bytes record = hex(golden);
        auto plaintext = open(scope_key, identity, record);
        ASSERT_TRUE(plaintext.has_value()) << plaintext.error().message();
        EXPECT_EQ(*plaintext, text("From: a@example.org\r\n\r\nhello"));
        auto ref = peek_key(record);
        ASSERT_TRUE(ref.has_value());
        EXPECT_EQ(*ref, identity.key);
    }
}

// The test's own v1 writer reproduces the golden v1 record, so the v1 records other tests make with
// it are real version 1 records.
TEST(SealedRecord, TheTestV1WriterMatchesTheGoldenRecord) {
    std::array<std::uint8_t, 32> dek{};
    std::array<std::uint8_t, 12> iv{};
    for (std::size_t i = 0; i < dek.size(); ++i) dek[i] = static_cast<std::uint8_t>(0xa0 + i);
    for (std::size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<std::uint8_t>(0x10 + i);
    EXPECT_EQ(vmx::testing::seal_v1(scope_key, identity, text("From: a@example.org\r\n\r\nhello"), dek, iv),
              hex(golden_record_v1));
}

TEST(SealedRecord, RoundTrips) {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                          std::size_t{1} << 20}) {
        SCOPED_TRACE(n);
        Bytes plaintext(n);
        ASSERT_TRUE(random_bytes(plaintext));
        const Bytes record = seal_ok(scope_key, identity, plaintext);
        EXPECT_EQ(record.size(), n + sealed_overhead_bytes);
        // Nothing of the plaintext shows through (for n >= 16 a match would be a 2^-128 accident).
        if (n >= 16) {
            EXPECT_EQ(std::search(record.begin(), record.end(), plaintext.begin(), plaintext.begin() + 16), record.end());
        }
        auto back = open(scope_key, identity, record);
        ASSERT_TRUE(back.has_value()) << back.error().message();
        EXPECT_EQ(*back, plaintext);
    }
}

TEST(SealedRecord, HeaderLayout) {
    const Bytes record = seal_ok(scope_key, identity, text("abc"));
    EXPECT_EQ(record[0], 'v');
    EXPECT_EQ(record[1], 'x');
    EXPECT_EQ(record[2], sealed_record_format_version);
    EXPECT_EQ(record[3], 0x03);  // head and final: a whole stream of one chunk
    EXPECT_EQ(Bytes(record.begin() + 4, record.begin() + 16), hex("887766554433221103000000"));
}

// Every single-bit change anywhere in a small record fails, with the error its position implies.
TEST(SealedRecord, EveryFlippedBitFails) {
    const Bytes record = seal_ok(scope_key, identity, text("hello"));
    ASSERT_EQ(record.size(), 97u);
    for (std::size_t bit = 0; bit < record.size() * 8; ++bit) {
        Bytes tampered = record;
        const std::size_t at = bit / 8;
        tampered[at] ^= static_cast<std::uint8_t>(1u << (bit % 8));
        const std::error_code e = open_error(scope_key, identity, tampered);
        ASSERT_TRUE(e) << "byte " << at << " bit " << bit % 8 << " opened";
        if (at == 2) {
            EXPECT_EQ(e, CryptoErrc::unsupported_version) << at;
        } else if (at < 4) {
            EXPECT_EQ(e, CryptoErrc::bad_record) << at;
        } else if (at < 16) {
            EXPECT_EQ(e, CryptoErrc::wrong_identity) << at;
        } else {
            EXPECT_EQ(e, CryptoErrc::authentication_failed) << at;
        }
    }
}

TEST(SealedRecord, TruncatedOrExtendedFails) {
    const Bytes record = seal_ok(scope_key, identity, text("hello"));
    for (std::size_t n = 0; n < record.size(); ++n) {
        const std::error_code e = open_error(scope_key, identity, Bytes(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(n)));
        ASSERT_TRUE(e) << n;
        EXPECT_EQ(e, n < sealed_overhead_bytes ? make_error_code(CryptoErrc::bad_record)
                                               : make_error_code(CryptoErrc::authentication_failed))
            << n;
    }
    Bytes longer = record;
    longer.push_back(0);
    EXPECT_EQ(open_error(scope_key, identity, longer), CryptoErrc::authentication_failed);
    // Dropping a byte from the front of the body shifts everything: also fails.
    Bytes shifted = record;
    shifted.erase(shifted.begin() + static_cast<std::ptrdiff_t>(sealed_header_bytes));
    EXPECT_EQ(open_error(scope_key, identity, shifted), CryptoErrc::authentication_failed);
}

TEST(SealedRecord, EveryIdentityFieldIsBound) {
    const Bytes record = seal_ok(scope_key, identity, text("hello"));
    auto changed = [&](auto edit) {
        RecordIdentity id = identity;
        edit(id);
        return open_error(scope_key, id, record);
    };
    EXPECT_EQ(changed([](RecordIdentity& id) { id.store = StoreKind::temp; }), CryptoErrc::authentication_failed);
    EXPECT_EQ(changed([](RecordIdentity& id) { id.segment ^= 1; }), CryptoErrc::authentication_failed);
    EXPECT_EQ(changed([](RecordIdentity& id) { id.mailbox ^= 1ull << 63; }), CryptoErrc::authentication_failed);
    EXPECT_EQ(changed([](RecordIdentity& id) { id.record_id += 1; }), CryptoErrc::authentication_failed);
    EXPECT_EQ(changed([](RecordIdentity& id) { id.key.key_id ^= 1; }), CryptoErrc::wrong_identity);
    EXPECT_EQ(changed([](RecordIdentity& id) { id.key.version += 1; }), CryptoErrc::wrong_identity);
    EXPECT_EQ(open_error(scope_key, identity, record), std::error_code{});
}

// The key reference is authenticated even when the caller trusts the header: rewriting it (and
// asking for it) does not open the record, even under the same key material.
TEST(SealedRecord, KeyReferenceIsBoundThroughTheWrap) {
    const Bytes record = seal_ok(scope_key, identity, text("hello"));
    Bytes edited = record;
    edited[12] ^= 0x01;  // version 3 -> 2
    auto ref = peek_key(edited);
    ASSERT_TRUE(ref.has_value());
    RecordIdentity as_claimed = identity;
    as_claimed.key = *ref;
    EXPECT_EQ(open_error(scope_key, as_claimed, edited), CryptoErrc::authentication_failed);
}

TEST(SealedRecord, WrongScopeKeyFails) {
    const Bytes record = seal_ok(scope_key, identity, text("hello"));
    EXPECT_EQ(open_error(other_key, identity, record), CryptoErrc::authentication_failed);
}

TEST(SealedRecord, SwappedPartsFail) {
    RecordIdentity second = identity;
    second.record_id = 43;
    const Bytes a = seal_ok(scope_key, identity, text("first message"));
    const Bytes b = seal_ok(scope_key, second, text("other message"));
    const Bytes a_again = seal_ok(scope_key, identity, text("first message"));  // same identity, new DEK
    auto swap_range = [](Bytes to, const Bytes& from, std::size_t offset, std::size_t length) {
        std::copy_n(from.begin() + static_cast<std::ptrdiff_t>(offset), length, to.begin() + static_cast<std::ptrdiff_t>(offset));
        return to;
    };
    // Wrap (IV, wrapped DEK, tag) from another record (other identity, then same identity).
    EXPECT_EQ(open_error(scope_key, identity, swap_range(a, b, 16, 60)), CryptoErrc::authentication_failed);
    EXPECT_EQ(open_error(scope_key, identity, swap_range(a, a_again, 16, 60)), CryptoErrc::authentication_failed);
    // Only the wrap IV, the body+tag, or the whole record under another identity.
    EXPECT_EQ(open_error(scope_key, identity, swap_range(a, a_again, 16, 12)), CryptoErrc::authentication_failed);
    EXPECT_EQ(open_error(scope_key, identity, swap_range(a, b, 76, a.size() - 76)), CryptoErrc::authentication_failed);
    EXPECT_EQ(open_error(scope_key, identity, b), CryptoErrc::authentication_failed);
}

TEST(SealedRecord, RewrapKeepsTheBodyAndMovesTheKey) {
    const Bytes plaintext = text("a message body that must not be rewritten");
    const Bytes record = seal_ok(scope_key, identity, plaintext);
    const KeyRef new_ref{identity.key.key_id, identity.key.version + 1};
    auto rewrapped = rewrap(scope_key, other_key, new_ref, identity, record);
    ASSERT_TRUE(rewrapped.has_value()) << rewrapped.error().message();
    ASSERT_EQ(rewrapped->size(), record.size());
    // Prefix and body (ciphertext, tag) byte-identical; key reference and wrap changed.
    EXPECT_TRUE(std::equal(record.begin(), record.begin() + 4, rewrapped->begin()));
    EXPECT_TRUE(std::equal(record.begin() + 76, record.end(), rewrapped->begin() + 76));
    EXPECT_FALSE(std::equal(record.begin() + 16, record.begin() + 76, rewrapped->begin() + 16));
    auto ref = peek_key(*rewrapped);
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(*ref, new_ref);

    RecordIdentity moved = identity;
    moved.key = new_ref;
    auto back = open(other_key, moved, *rewrapped);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, plaintext);
    EXPECT_EQ(open_error(scope_key, moved, *rewrapped), CryptoErrc::authentication_failed);    // old key
    EXPECT_EQ(open_error(other_key, identity, *rewrapped), CryptoErrc::wrong_identity);        // old ref
    EXPECT_EQ(open_error(scope_key, identity, record), std::error_code{});                    // original intact

    // And back again: a second rotation to a third version.
    auto again = rewrap(other_key, scope_key, KeyRef{9, 1}, moved, *rewrapped);
    ASSERT_TRUE(again.has_value());
    RecordIdentity third = identity;
    third.key = KeyRef{9, 1};
    auto third_open = open(scope_key, third, *again);
    ASSERT_TRUE(third_open.has_value());
    EXPECT_EQ(*third_open, plaintext);
}

TEST(SealedRecord, RewrapRefusesWhatOpenRefuses) {
    const Bytes record = seal_ok(scope_key, identity, text("hello"));
    const KeyRef new_ref{identity.key.key_id, 4};
    EXPECT_EQ(error_of(rewrap(other_key, scope_key, new_ref, identity, record)), CryptoErrc::authentication_failed);
    RecordIdentity wrong = identity;
    wrong.record_id = 1;
    EXPECT_EQ(error_of(rewrap(scope_key, other_key, new_ref, wrong, record)), CryptoErrc::authentication_failed);
    wrong = identity;
    wrong.key.version = 2;
    EXPECT_EQ(error_of(rewrap(scope_key, other_key, new_ref, wrong, record)), CryptoErrc::wrong_identity);
    Bytes tampered = record;
    tampered[20] ^= 0x10;  // inside the wrapped DEK
    EXPECT_EQ(error_of(rewrap(scope_key, other_key, new_ref, identity, tampered)), CryptoErrc::authentication_failed);
    EXPECT_EQ(error_of(rewrap(scope_key, other_key, new_ref, identity, Bytes(record.begin(), record.begin() + 83))),
              CryptoErrc::bad_record);
}

TEST(SealedRecord, PeekKey) {
    const Bytes record = seal_ok(scope_key, identity, {});
    auto ref = peek_key(record);
    ASSERT_TRUE(ref.has_value());
    EXPECT_EQ(*ref, identity.key);
    EXPECT_EQ(error_of(peek_key({})), CryptoErrc::bad_record);
    EXPECT_EQ(error_of(peek_key(Bytes(record.begin(), record.begin() + 83))), CryptoErrc::bad_record);
    EXPECT_EQ(error_of(peek_key(Bytes(100, 0x00))), CryptoErrc::bad_record);
}

TEST(SealedRecord, EachSealIsFresh) {
    const Bytes plaintext = text("same plaintext, same identity");
    const Bytes a = seal_ok(scope_key, identity, plaintext);
    const Bytes b = seal_ok(scope_key, identity, plaintext);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_TRUE(std::equal(a.begin(), a.begin() + 16, b.begin()));                     // same header
    EXPECT_FALSE(std::equal(a.begin() + 16, a.begin() + 28, b.begin() + 16));         // wrap IV
    EXPECT_FALSE(std::equal(a.begin() + 28, a.begin() + 76, b.begin() + 28));         // wrapped DEK
    EXPECT_FALSE(std::equal(a.begin() + 76, a.end(), b.begin() + 76));                // body (fresh DEK)
}

TEST(SealedRecord, FormatVersionAndFlags) {
    const Bytes record = seal_ok(scope_key, identity, text("hello"));
    for (const std::uint8_t version : {std::uint8_t{0}, std::uint8_t{3}, std::uint8_t{0xFF}}) {
        Bytes other = record;
        other[2] = version;
        EXPECT_EQ(open_error(scope_key, identity, other), CryptoErrc::unsupported_version);
        EXPECT_EQ(error_of(peek_key(other)), CryptoErrc::unsupported_version);
        EXPECT_EQ(error_of(rewrap(scope_key, other_key, {1, 1}, identity, other)), CryptoErrc::unsupported_version);
        // A future version may be shorter than ours: still reported as a version problem.
        EXPECT_EQ(error_of(peek_key(Bytes(other.begin(), other.begin() + 3))), CryptoErrc::unsupported_version);
    }
    for (const std::uint8_t flags : {std::uint8_t{0x07}, std::uint8_t{0x83}, std::uint8_t{0x01}, std::uint8_t{0x02}}) {
        Bytes flagged = record;
        flagged[3] = flags;  // an unknown flag; a head that is not final; a continuation
        EXPECT_EQ(open_error(scope_key, identity, flagged), CryptoErrc::bad_record) << int{flags};
    }
    Bytes wrong_magic = record;
    wrong_magic[0] = 'V';
    EXPECT_EQ(error_of(peek_key(wrong_magic)), CryptoErrc::bad_record);
}

// ---- Version 1 records next to version 2 ones ---------------------------------------------------

Bytes seal_v1_ok(const Key& key, const RecordIdentity& id, const Bytes& plaintext) {
    std::array<std::uint8_t, 32> dek{};
    std::array<std::uint8_t, 12> iv{};
    EXPECT_TRUE(random_bytes(dek));
    EXPECT_TRUE(random_bytes(iv));
    return vmx::testing::seal_v1(key, id, plaintext, dek, iv);
}

TEST(SealedRecord, Version1AndVersion2SideBySide) {
    const Bytes old_record = seal_v1_ok(scope_key, identity, text("sealed by an older build"));
    const Bytes new_record = seal_ok(scope_key, identity, text("sealed today"));
    EXPECT_EQ(peek_shape(old_record)->version, 1);
    EXPECT_EQ(peek_shape(new_record)->version, 2);
    EXPECT_EQ(*open(scope_key, identity, old_record), text("sealed by an older build"));
    EXPECT_EQ(*open(scope_key, identity, new_record), text("sealed today"));
    EXPECT_EQ(*peek_key(old_record), identity.key);
    // A v1 record is as tamper-proof as ever.
    for (std::size_t at = 0; at < old_record.size(); ++at) {
        Bytes tampered = old_record;
        tampered[at] ^= 0x01;
        EXPECT_TRUE(open_error(scope_key, identity, tampered)) << at;
    }
    RecordIdentity other = identity;
    other.record_id += 1;
    EXPECT_EQ(open_error(scope_key, other, old_record), CryptoErrc::authentication_failed);
}

TEST(SealedRecord, RewrapOfAVersion1RecordKeepsItsBody) {
    const Bytes plaintext = text("an old body");
    const Bytes record = seal_v1_ok(scope_key, identity, plaintext);
    const KeyRef new_ref{identity.key.key_id, identity.key.version + 1};
    auto rewrapped = rewrap(scope_key, other_key, new_ref, identity, record);
    ASSERT_TRUE(rewrapped.has_value()) << rewrapped.error().message();
    EXPECT_EQ((*rewrapped)[2], 1);  // still v1: rewrap touches only the key (the KeySet upgrades)
    EXPECT_TRUE(std::equal(record.begin() + 56, record.end(), rewrapped->begin() + 56));
    RecordIdentity moved = identity;
    moved.key = new_ref;
    EXPECT_EQ(*open(other_key, moved, *rewrapped), plaintext);
    EXPECT_EQ(open_error(scope_key, moved, *rewrapped), CryptoErrc::authentication_failed);
}

}  // namespace
}  // namespace vmx::crypto
