// Little-endian binary encoding of stored records: a writer that appends fixed-width integers and
// length-prefixed strings to a vector, and a reader that checks every length against what is left
// (and a caller's limit) before copying anything. Header-only; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vmx {

class ByteWriter {
public:
    explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) { uint(v, 2); }
    void u32(std::uint32_t v) { uint(v, 4); }
    void u64(std::uint64_t v) { uint(v, 8); }
    void i64(std::int64_t v) { uint(static_cast<std::uint64_t>(v), 8); }
    // A u16 length then the bytes; callers keep their strings below 65536 bytes (their limits do).
    void str(std::string_view s) {
        u16(static_cast<std::uint16_t>(s.size()));
        out_.insert(out_.end(), s.begin(), s.end());
    }

private:
    void uint(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    std::vector<std::uint8_t>& out_;
};

class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}
    std::optional<std::uint64_t> uint(std::size_t n) {
        if (in_.size() - pos_ < n) return std::nullopt;
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{in_[pos_ + i]} << (8 * i);
        pos_ += n;
        return v;
    }
    std::optional<std::uint8_t> u8() { return narrow<std::uint8_t>(uint(1)); }
    std::optional<std::uint32_t> u32() { return narrow<std::uint32_t>(uint(4)); }
    std::optional<std::uint64_t> u64() { return uint(8); }
    std::optional<std::int64_t> i64() {
        auto v = uint(8);
        if (!v) return std::nullopt;
        return static_cast<std::int64_t>(*v);
    }
    // A length-prefixed string of at most bytes_max bytes (checked before anything is copied).
    std::optional<std::string> str(std::size_t bytes_max) {
        const auto n = uint(2);
        if (!n || *n > bytes_max || in_.size() - pos_ < *n) return std::nullopt;
        std::string s(reinterpret_cast<const char*>(in_.data() + pos_), static_cast<std::size_t>(*n));
        pos_ += static_cast<std::size_t>(*n);
        return s;
    }
    bool at_end() const noexcept { return pos_ == in_.size(); }

private:
    template <class T>
    static std::optional<T> narrow(std::optional<std::uint64_t> v) {
        if (!v) return std::nullopt;
        return static_cast<T>(*v);
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
};

}  // namespace vmx
