// The bounded CBOR decoder (see cbor.h): recursive descent whose depth is capped by Limits, with
// one budget of items for the whole tree. Any thread; no state outside one decode() call.
#include "crypto/webauthn/cbor.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "crypto/webauthn/errc.h"

namespace vmx::crypto::webauthn::cbor {
namespace {

// RFC 8949 3.1 major types.
constexpr std::uint8_t major_unsigned = 0;
constexpr std::uint8_t major_negative = 1;
constexpr std::uint8_t major_bytes = 2;
constexpr std::uint8_t major_text = 3;
constexpr std::uint8_t major_array = 4;
constexpr std::uint8_t major_map = 5;
constexpr std::uint8_t major_simple = 7;   // 6, tags, is refused

// RFC 8949 3.3 simple values.
constexpr std::uint8_t simple_false = 20;
constexpr std::uint8_t simple_true = 21;
constexpr std::uint8_t simple_null = 22;

struct Head {
    std::uint8_t major = 0;
    std::uint8_t info = 0;       // the additional information, low five bits of the first byte
    std::uint64_t argument = 0;  // the count, length or value the head carries
};

class Reader {
public:
    Reader(std::span<const std::uint8_t> input, const Limits& limits) : in_(input), limits_(limits) {}

    Result<Value> item(std::size_t depth);
    std::size_t offset() const noexcept { return pos_; }

private:
    Result<Head> head();
    Result<Value> string(Kind kind, std::uint64_t length);
    Result<Value> array(std::uint64_t count, std::size_t depth);
    Result<Value> map(std::uint64_t pairs, std::size_t depth);
    Result<Value> simple_value(const Head& h);
    std::size_t left() const noexcept { return in_.size() - pos_; }

    std::span<const std::uint8_t> in_;
    const Limits& limits_;
    std::size_t pos_ = 0;
    std::size_t items_ = 0;
};

Result<Head> Reader::head() {
    if (left() < 1) return fail(WebauthnErrc::malformed);
    Head h;
    h.major = static_cast<std::uint8_t>(in_[pos_] >> 5);
    h.info = static_cast<std::uint8_t>(in_[pos_] & 0x1F);
    ++pos_;
    if (h.info < 24) {
        h.argument = h.info;
        return h;
    }
    // 24..27: the argument follows in 1, 2, 4 or 8 bytes, big-endian. 28..30 are reserved and 31
    // is an indefinite length: both refused.
    if (h.info > 27) return fail(WebauthnErrc::malformed);
    const std::size_t bytes = std::size_t{1} << (h.info - 24);
    if (left() < bytes) return fail(WebauthnErrc::malformed);
    for (std::size_t i = 0; i < bytes; ++i) h.argument = (h.argument << 8) | in_[pos_ + i];
    pos_ += bytes;
    return h;
}

Result<Value> Reader::string(Kind kind, std::uint64_t length) {
    // Checked against what is left before the view is made: a declared 2^64-1 stops here.
    if (length > left()) return fail(WebauthnErrc::malformed);
    Value v;
    v.kind = kind;
    v.bytes = in_.subspan(pos_, static_cast<std::size_t>(length));
    pos_ += static_cast<std::size_t>(length);
    return v;
}

Result<Value> Reader::array(std::uint64_t count, std::size_t depth) {
    if (depth + 1 > limits_.depth_max) return fail(WebauthnErrc::too_large);
    // Each element takes at least one byte, and each counts against the budget: both bound the
    // reservation below by what the input and the limits allow.
    if (count > left()) return fail(WebauthnErrc::malformed);
    if (count > limits_.items_max - items_) return fail(WebauthnErrc::too_large);
    Value v;
    v.kind = Kind::array;
    v.items.reserve(static_cast<std::size_t>(count));
    for (std::uint64_t i = 0; i < count; ++i) {
        auto element = item(depth + 1);
        if (!element) return fail(element.error());
        v.items.push_back(std::move(*element));
    }
    return v;
}

bool same_key(const Value& a, const Value& b) noexcept {
    if (a.kind != b.kind) return false;
    if (a.kind == Kind::text) return std::equal(a.bytes.begin(), a.bytes.end(), b.bytes.begin(), b.bytes.end());
    return a.number == b.number;
}

Result<Value> Reader::map(std::uint64_t pairs, std::size_t depth) {
    if (depth + 1 > limits_.depth_max) return fail(WebauthnErrc::too_large);
    if (pairs > left() / 2) return fail(WebauthnErrc::malformed);
    if (pairs > (limits_.items_max - items_) / 2) return fail(WebauthnErrc::too_large);
    Value v;
    v.kind = Kind::map;
    v.items.reserve(static_cast<std::size_t>(pairs) * 2);
    for (std::uint64_t i = 0; i < pairs; ++i) {
        // Keys are integers or text (COSE labels, WebAuthn member names): anything else is refused
        // before it is decoded, so a key can never be a container.
        if (left() < 1) return fail(WebauthnErrc::malformed);
        const auto key_major = static_cast<std::uint8_t>(in_[pos_] >> 5);
        if (key_major != major_unsigned && key_major != major_negative && key_major != major_text)
            return fail(WebauthnErrc::malformed);
        auto key = item(depth + 1);
        if (!key) return fail(key.error());
        // Quadratic, but the item budget bounds it (256 pairs at the default: 32,640 comparisons).
        for (std::size_t k = 0; k < v.items.size(); k += 2)
            if (same_key(v.items[k], *key)) return fail(WebauthnErrc::malformed);
        auto value = item(depth + 1);
        if (!value) return fail(value.error());
        v.items.push_back(std::move(*key));
        v.items.push_back(std::move(*value));
    }
    return v;
}

Result<Value> Reader::simple_value(const Head& h) {
    // Only the one-byte forms of false, true and null: floats (25..27) and other simple values
    // (including a two-byte 24) are not WebAuthn's.
    Value v;
    if (h.info == simple_false || h.info == simple_true) {
        v.kind = Kind::boolean;
        v.number = h.info == simple_true ? 1 : 0;
        return v;
    }
    if (h.info == simple_null) return v;
    return fail(WebauthnErrc::malformed);
}

Result<Value> Reader::item(std::size_t depth) {
    if (items_ >= limits_.items_max) return fail(WebauthnErrc::too_large);
    ++items_;
    auto h = head();
    if (!h) return fail(h.error());
    switch (h->major) {
        case major_unsigned:
        case major_negative: {
            Value v;
            v.kind = h->major == major_unsigned ? Kind::unsigned_int : Kind::negative_int;
            v.number = h->argument;
            return v;
        }
        case major_bytes: return string(Kind::bytes, h->argument);
        case major_text: return string(Kind::text, h->argument);
        case major_array: return array(h->argument, depth);
        case major_map: return map(h->argument, depth);
        case major_simple: return simple_value(*h);
        default: return fail(WebauthnErrc::malformed);   // tags: WebAuthn's structures carry none
    }
}

}  // namespace

std::optional<std::int64_t> Value::integer() const noexcept {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (kind == Kind::unsigned_int && number <= max) return static_cast<std::int64_t>(number);
    // -1 - n fits when n <= INT64_MAX; computed without overflow as -(n) - 1.
    if (kind == Kind::negative_int && number <= max) return -static_cast<std::int64_t>(number) - 1;
    return std::nullopt;
}

std::string_view Value::text() const noexcept {
    if (kind != Kind::text) return {};
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

const Value* Value::find(std::int64_t key) const noexcept {
    for (std::size_t k = 0; k + 1 < items.size() && kind == Kind::map; k += 2)
        if (items[k].integer() == key) return &items[k + 1];
    return nullptr;
}

const Value* Value::find(std::string_view key) const noexcept {
    for (std::size_t k = 0; k + 1 < items.size() && kind == Kind::map; k += 2)
        if (items[k].kind == Kind::text && items[k].text() == key) return &items[k + 1];
    return nullptr;
}

Result<Decoded> decode(std::span<const std::uint8_t> input, const Limits& limits) {
    Reader reader(input, limits);
    auto value = reader.item(0);
    if (!value) return fail(value.error());
    return Decoded{std::move(*value), reader.offset()};
}

}  // namespace vmx::crypto::webauthn::cbor
