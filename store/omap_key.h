// How the RADOS backend names table entries inside its space object's omap: "<table>/<hex key>",
// lower-case hex so that the omap's byte order is the key order and no key holds a NUL (librados
// takes a scan's start as a C string). Values carry one marker byte in front, so a present value is
// never empty: omap_cmp treats an absent key as an empty value, and "absent" must be told apart.
// A value over omap_inline_max bytes (a message body's chunk) lives in a RADOS object of its own,
// named by its SHA-256; the omap entry holds a reference (its own marker and the digest), so the
// space object's omap stays small (Ceph warns of large omaps, and every omap write rewrites its
// part of the OSD's key-value store) while a batch still changes every entry atomically.
// Pure functions; any thread.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "store/backend.h"

namespace vmx::store {

inline constexpr std::uint8_t omap_value_marker = 0x01;
inline constexpr std::uint8_t omap_reference_marker = 0x02;
inline constexpr std::size_t omap_inline_max = 4096;
using ValueDigest = std::array<std::uint8_t, 32>;

std::string omap_prefix(std::string_view table);
std::string omap_key(std::string_view table, ByteView key);
// The key of an omap entry of that table; nothing for another table's entry or bad hex.
std::optional<ByteString> omap_key_decode(std::string_view table, std::string_view omap_name);
// The start_after argument that makes an omap scan return the entries whose key is >= from.
std::string omap_scan_start_after(std::string_view table, ByteView from);

ByteString omap_value(ByteView value);
// The stored value without its marker; nothing for a value without one (or a reference).
std::optional<ByteString> omap_value_decode(ByteView stored);

// Whether a value of this size is kept in an object of its own.
inline bool omap_value_outside(std::size_t bytes) noexcept { return bytes > omap_inline_max; }
// The omap entry of a value kept outside: the reference marker and the value's digest.
ByteString omap_reference(const ValueDigest& digest);
// The digest a stored entry refers to; nothing for an inline value or a malformed entry.
std::optional<ValueDigest> omap_reference_decode(ByteView stored);
// The name of the object holding a value of this digest, beside the space object.
std::string value_object_name(std::string_view space_object, const ValueDigest& digest);

}  // namespace vmx::store
