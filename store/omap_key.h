// How the RADOS backend names table entries inside its space object's omap: "<table>/<hex key>",
// lower-case hex so that the omap's byte order is the key order and no key holds a NUL (librados
// takes a scan's start as a C string). Values carry one marker byte in front, so a present value is
// never empty: omap_cmp treats an absent key as an empty value, and "absent" must be told apart.
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/backend.h"

namespace vmx::store {

inline constexpr std::uint8_t omap_value_marker = 0x01;

std::string omap_prefix(std::string_view table);
std::string omap_key(std::string_view table, ByteView key);
// The key of an omap entry of that table; nothing for another table's entry or bad hex.
std::optional<ByteString> omap_key_decode(std::string_view table, std::string_view omap_name);
// The start_after argument that makes an omap scan return the entries whose key is >= from.
std::string omap_scan_start_after(std::string_view table, ByteView from);

ByteString omap_value(ByteView value);
// The stored value without its marker; nothing for a value without one.
std::optional<ByteString> omap_value_decode(ByteView stored);

}  // namespace vmx::store
