// Streams of chunks under one data key (format v2, sealed_record.h): a golden two-chunk stream built
// independently from the documented format, round trips, and every way to tamper with a stream:
// every flipped bit of every chunk, truncation at each chunk boundary, chunks swapped within a
// stream and across streams, a chunk moved to another identity, anything after the final chunk, and
// a rewrap of the head that leaves every continuation valid.
#include "crypto/sealed_stream.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/errc.h"
#include "crypto/random.h"
#include "tests/crypto/sealed_test_values.h"

namespace vmx::crypto {
namespace {

using namespace sealed_test;

std::vector<Bytes> seal_stream(const Key& key, const RecordIdentity& id, const std::vector<Bytes>& chunks) {
    auto sealer = StreamSealer::begin(key, id);
    EXPECT_TRUE(sealer.has_value());
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        auto record = sealer->seal(chunks[i], i + 1 == chunks.size());
        EXPECT_TRUE(record.has_value());
        out.push_back(record ? *record : Bytes{});
    }
    return out;
}

// Opens chunks in order the way a body reader does. The error of the first chunk that fails, or
// bad_record when they all open but the final one never came (a truncated stream).
Result<std::vector<Bytes>> open_stream(const Key& key, const RecordIdentity& id, const std::vector<Bytes>& records) {
    if (records.empty()) return fail(CryptoErrc::bad_record);
    auto opener = StreamOpener::begin(key, id, records[0]);
    if (!opener) return fail(opener.error());
    std::vector<Bytes> out;
    for (const Bytes& r : records) {
        auto plain = opener->open(r);
        if (!plain) return fail(plain.error());
        out.push_back(std::move(*plain));
    }
    if (!opener->finished()) return fail(CryptoErrc::bad_record);
    return out;
}

const std::vector<Bytes> three_chunks = {text("chunk zero, "), text("chunk one, "), text("chunk two.")};

// From the same Python program as sealed_record_test.cc's golden records: DEK a0..bf, wrap IV 10..1b.
TEST(SealedStream, OpensTheGoldenStream) {
    const std::vector<Bytes> golden = {
        hex("76780201887766554433221103000000101112131415161718191a1b0e9ba6f5ed9290a2e006e044a40a9025655d"
            "1cc3b671524d6c3840b03f1bc74788abfe63d0164cc60715b1623492b99ed8c86204a190471ad7d19db5871210730987b63e"
            "8df1ada9c8097736d3"),
        hex("767802022dcd05af190943117702b84d8f15c9f644f1792e08f9d15230719e31")};
    auto opened = open_stream(scope_key, identity, golden);
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    EXPECT_EQ((*opened)[0], text("first chunk, "));
    EXPECT_EQ((*opened)[1], text("second chunk"));
}

TEST(SealedStream, RoundTripsAndSizes) {
    std::vector<Bytes> chunks = {Bytes(65536), Bytes(65536), Bytes(1), Bytes{}};
    for (Bytes& c : chunks) ASSERT_TRUE(random_bytes(c));
    const auto records = seal_stream(scope_key, identity, chunks);
    ASSERT_EQ(records.size(), chunks.size());
    EXPECT_EQ(records[0].size(), chunks[0].size() + sealed_overhead_bytes);
    for (std::size_t i = 1; i < records.size(); ++i)
        EXPECT_EQ(records[i].size(), chunks[i].size() + sealed_chunk_overhead_bytes);
    EXPECT_EQ(peek_shape(records[0])->head, true);
    EXPECT_EQ(peek_shape(records[0])->final, false);
    EXPECT_EQ(peek_shape(records[1])->head, false);
    EXPECT_EQ(peek_shape(records[3])->final, true);
    auto opened = open_stream(scope_key, identity, records);
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    EXPECT_EQ(*opened, chunks);
}

TEST(SealedStream, TwoPartSealEqualsTheConcatenation) {
    auto sealer = StreamSealer::begin(scope_key, identity);
    ASSERT_TRUE(sealer);
    const auto head = sealer->seal(text("\x01"), text("rest of the chunk"), false);
    const auto tail = sealer->seal(text(""), text("last"), true);
    ASSERT_TRUE(head && tail);
    auto opened = open_stream(scope_key, identity, {*head, *tail});
    ASSERT_TRUE(opened);
    EXPECT_EQ((*opened)[0], text("\x01rest of the chunk"));
    EXPECT_EQ((*opened)[1], text("last"));
}

TEST(SealedStream, EveryFlippedBitOfEveryChunkFails) {
    const auto records = seal_stream(scope_key, identity, three_chunks);
    for (std::size_t c = 0; c < records.size(); ++c) {
        for (std::size_t bit = 0; bit < records[c].size() * 8; ++bit) {
            auto tampered = records;
            tampered[c][bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
            ASSERT_TRUE(error_of(open_stream(scope_key, identity, tampered)))
                << "chunk " << c << " byte " << bit / 8 << " bit " << bit % 8 << " opened";
        }
    }
}

TEST(SealedStream, TruncationAtEachChunkBoundaryIsDetected) {
    const auto records = seal_stream(scope_key, identity, three_chunks);
    for (std::size_t kept = 1; kept < records.size(); ++kept) {
        const std::vector<Bytes> cut(records.begin(), records.begin() + static_cast<std::ptrdiff_t>(kept));
        EXPECT_EQ(error_of(open_stream(scope_key, identity, cut)), CryptoErrc::bad_record) << kept;
    }
    // Nor can a non-final chunk be passed off as the last one by editing its flags.
    auto forged = records;
    forged.pop_back();
    forged.back()[3] |= 0x02;
    EXPECT_EQ(error_of(open_stream(scope_key, identity, forged)), CryptoErrc::authentication_failed);
    // And a stream's head is not a whole record.
    EXPECT_EQ(error_of(open(scope_key, identity, records[0])), CryptoErrc::bad_record);
}

TEST(SealedStream, SwappedOrRepeatedChunksFail) {
    const auto records = seal_stream(scope_key, identity, three_chunks);
    EXPECT_TRUE(error_of(open_stream(scope_key, identity, {records[0], records[2], records[1]})));
    EXPECT_TRUE(error_of(open_stream(scope_key, identity, {records[0], records[1], records[1], records[2]})));
    EXPECT_TRUE(error_of(open_stream(scope_key, identity, {records[1], records[0], records[2]})));
    // Anything after the final chunk is refused.
    auto opener = StreamOpener::begin(scope_key, identity, records[0]);
    ASSERT_TRUE(opener);
    for (const Bytes& r : records) ASSERT_TRUE(opener->open(r));
    EXPECT_EQ(error_of(opener->open(records[2])), CryptoErrc::bad_record);
}

TEST(SealedStream, ChunksOfAnotherStreamFail) {
    // Another message of the same mailbox, and the same identity sealed again (a fresh DEK).
    RecordIdentity second = identity;
    second.record_id = 43;
    const auto a = seal_stream(scope_key, identity, three_chunks);
    const auto b = seal_stream(scope_key, second, three_chunks);
    const auto a_again = seal_stream(scope_key, identity, three_chunks);
    for (std::size_t c = 1; c < 3; ++c) {
        for (const auto* other : {&b, &a_again}) {
            auto mixed = a;
            mixed[c] = (*other)[c];
            EXPECT_EQ(error_of(open_stream(scope_key, identity, mixed)), CryptoErrc::authentication_failed) << c;
        }
    }
    // A whole stream moved to another identity, or opened under another scope key.
    EXPECT_EQ(error_of(open_stream(scope_key, second, a)), CryptoErrc::authentication_failed);
    EXPECT_EQ(error_of(open_stream(other_key, identity, a)), CryptoErrc::authentication_failed);
    // A continuation names no key.
    EXPECT_EQ(error_of(peek_key(a[1])), CryptoErrc::bad_record);
    EXPECT_EQ(error_of(StreamOpener::begin(scope_key, identity, a[1])), CryptoErrc::bad_record);
}

TEST(SealedStream, RewrapOfTheHeadKeepsEveryChunk) {
    const auto records = seal_stream(scope_key, identity, three_chunks);
    const KeyRef new_ref{identity.key.key_id, identity.key.version + 1};
    auto head = rewrap(scope_key, other_key, new_ref, identity, records[0]);
    ASSERT_TRUE(head.has_value()) << head.error().message();
    EXPECT_TRUE(std::equal(records[0].begin() + 76, records[0].end(), head->begin() + 76));  // chunk 0 untouched
    EXPECT_EQ(error_of(rewrap(scope_key, other_key, new_ref, identity, records[1])), CryptoErrc::bad_record);
    RecordIdentity moved = identity;
    moved.key = new_ref;
    auto opened = open_stream(other_key, moved, {*head, records[1], records[2]});
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    EXPECT_EQ(*opened, three_chunks);
    EXPECT_EQ(error_of(open_stream(scope_key, moved, {*head, records[1], records[2]})),
              CryptoErrc::authentication_failed);
}

TEST(SealedStream, NothingAfterTheFinalChunkCanBeSealed) {
    auto sealer = StreamSealer::begin(scope_key, identity);
    ASSERT_TRUE(sealer);
    ASSERT_TRUE(sealer->seal(text("only"), true));
    EXPECT_EQ(error_of(sealer->seal(text("more"), true)), CryptoErrc::invalid_argument);
    EXPECT_EQ(sealer->chunks_sealed(), 1u);
}

}  // namespace
}  // namespace vmx::crypto
