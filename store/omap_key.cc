#include "store/omap_key.h"

#include <algorithm>

namespace vmx::store {
namespace {

constexpr char hex_digits[] = "0123456789abcdef";

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

std::string omap_prefix(std::string_view table) {
    std::string out(table);
    out += '/';
    return out;
}

std::string omap_key(std::string_view table, ByteView key) {
    std::string out = omap_prefix(table);
    out.reserve(out.size() + key.size() * 2);
    for (std::uint8_t b : key) {
        out += hex_digits[b >> 4];
        out += hex_digits[b & 0x0f];
    }
    return out;
}

std::optional<ByteString> omap_key_decode(std::string_view table, std::string_view omap_name) {
    if (omap_name.size() <= table.size() + 1 || omap_name.substr(0, table.size()) != table ||
        omap_name[table.size()] != '/')
        return std::nullopt;
    const std::string_view hex = omap_name.substr(table.size() + 1);
    if (hex.size() % 2 != 0) return std::nullopt;
    ByteString out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        const int hi = hex_value(hex[i]);
        const int lo = hex_value(hex[i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
    }
    return out;
}

// Entries after the returned string are exactly those >= omap_key(table, from): the last hex digit
// is lowered by one and followed by 0xff, which sorts after every continuation of the lowered
// prefix (keys hold only hex digits) and before the key itself ('0' lowered is '/', 'a' lowered is
// '`': each sorts between the digit below and the digit itself). An empty from starts after the bare prefix, before every entry.
std::string omap_scan_start_after(std::string_view table, ByteView from) {
    std::string start = omap_key(table, from);
    if (from.empty()) return start;
    start.back() = static_cast<char>(start.back() - 1);
    start += '\xff';
    return start;
}

ByteString omap_value(ByteView value) {
    ByteString out;
    out.reserve(value.size() + 1);
    out.push_back(omap_value_marker);
    out.insert(out.end(), value.begin(), value.end());
    return out;
}

std::optional<ByteString> omap_value_decode(ByteView stored) {
    if (stored.empty() || stored[0] != omap_value_marker) return std::nullopt;
    return ByteString(stored.begin() + 1, stored.end());
}

ByteString omap_reference(const ValueDigest& digest) {
    ByteString out;
    out.reserve(digest.size() + 1);
    out.push_back(omap_reference_marker);
    out.insert(out.end(), digest.begin(), digest.end());
    return out;
}

std::optional<ValueDigest> omap_reference_decode(ByteView stored) {
    ValueDigest digest{};
    if (stored.size() != digest.size() + 1 || stored[0] != omap_reference_marker) return std::nullopt;
    std::copy(stored.begin() + 1, stored.end(), digest.begin());
    return digest;
}

std::string value_object_name(std::string_view space_object, const ValueDigest& digest) {
    return std::string(space_object) + ".v." + omap_key("", digest).substr(1);
}

}  // namespace vmx::store
