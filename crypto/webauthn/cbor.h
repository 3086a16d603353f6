// A bounded CBOR decoder (RFC 8949) for what WebAuthn carries: attestation objects, COSE keys and
// extension maps. Pure; any thread. It decodes the FIRST item of its input and says where that
// item ends (authenticator data puts a COSE key and then extensions one after the other).
// Invariants: every length is checked against the bytes left before anything is reserved; the
// tree never holds more than Limits::items_max values nor nests deeper than Limits::depth_max;
// byte and text strings are views into the input, so the input must outlive the tree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vmx::crypto::webauthn::cbor {

struct Limits {
    std::size_t depth_max = 8;     // arrays and maps inside one another; the outermost counts 1
    std::size_t items_max = 512;   // values in the whole tree, map keys and containers included
};

enum class Kind : std::uint8_t { unsigned_int, negative_int, bytes, text, array, map, boolean, null };

struct Value {
    Kind kind = Kind::null;
    // unsigned_int: the value; negative_int: n where the value is -1 - n (RFC 8949 3.1, so the
    // whole range down to -2^64 is held); boolean: 0 or 1.
    std::uint64_t number = 0;
    std::span<const std::uint8_t> bytes;   // bytes and text: a view into the decoded input
    std::vector<Value> items;              // array: the elements; map: key, value, key, value...

    // The integer when the value is one and fits in 64 signed bits.
    std::optional<std::int64_t> integer() const noexcept;
    // text only: the bytes as characters (not checked to be UTF-8: we only compare them).
    std::string_view text() const noexcept;
    std::size_t pairs() const noexcept { return kind == Kind::map ? items.size() / 2 : 0; }
    // In a map: the value under an integer or a text key; nullptr when absent (or not a map).
    const Value* find(std::int64_t key) const noexcept;
    const Value* find(std::string_view key) const noexcept;
};

struct Decoded {
    Value value;
    std::size_t bytes_used = 0;   // the first item's length; the bytes after it are not read
};

// Decodes the first item of `input`. Refused as WebauthnErrc::malformed: input that ends inside the
// item, indefinite lengths (WebAuthn's CTAP2 encoding never uses them), tags, floats, simple values
// other than false/true/null, reserved additional information, map keys other than integers and
// text, and a key twice in one map (two readers could pick different values). Refused as too_large:
// nesting or item count over `limits`. Shortest-form integers and key order are not enforced:
// callers keep the original bytes where they matter (the COSE key), so no second encoding exists.
Result<Decoded> decode(std::span<const std::uint8_t> input, const Limits& limits = {});

}  // namespace vmx::crypto::webauthn::cbor
