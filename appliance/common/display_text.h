// Text that came from outside (a message's header field, a reason an admin typed) made safe to
// print on a terminal and to put in JSON: well-formed UTF-8 is kept, except what a terminal or a
// bidirectional-text renderer would act on (C0 and C1 controls, DEL, line and paragraph separators,
// bidi embeddings, overrides and isolates); every byte of anything else becomes '?'. Header-only,
// pure; any thread. Linear in the input, no allocation beyond the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vmx {

namespace display_detail {

// The length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF) and its code point; 0 when there is none.
inline std::size_t utf8_sequence(std::string_view text, std::size_t i, char32_t& code) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
        code = b0;
        return 1;
    }
    std::size_t n = 4;
    char32_t c = b0 & 0x07u;
    char32_t min = 0x10000;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        n = 2;
        c = b0 & 0x1Fu;
        min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        n = 3;
        c = b0 & 0x0Fu;
        min = 0x800;
    } else if (b0 < 0xF0 || b0 > 0xF4) {
        return 0;  // a continuation byte, C0, C1 (overlong) or F5..FF
    }
    if (text.size() - i < n) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(text[i + k]);
        if ((b & 0xC0) != 0x80) return 0;
        c = (c << 6) | (b & 0x3Fu);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    code = c;
    return n;
}

// Code points a terminal or a renderer acts on instead of showing.
inline bool acts_on_display(char32_t c) {
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0x200E || c == 0x200F || c == 0x061C;
}

}  // namespace display_detail

// `text` with every byte that is not part of a shown character replaced by '?'.
inline std::string display_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        char32_t code = 0;
        const std::size_t n = display_detail::utf8_sequence(text, i, code);
        if (n == 0 || display_detail::acts_on_display(code)) {
            out += '?';
            i += n == 0 ? 1 : n;
            continue;
        }
        out.append(text.substr(i, n));
        i += n;
    }
    return out;
}

// True when display_safe(text) would return text unchanged.
inline bool is_display_safe(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        char32_t code = 0;
        const std::size_t n = display_detail::utf8_sequence(text, i, code);
        if (n == 0 || display_detail::acts_on_display(code)) return false;
        i += n;
    }
    return true;
}

// At most bytes_max bytes of `text`, never ending inside a UTF-8 sequence.
inline std::string_view cut_utf8(std::string_view text, std::size_t bytes_max) {
    if (text.size() <= bytes_max) return text;
    std::size_t keep = bytes_max;
    while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
    return text.substr(0, keep);
}

}  // namespace vmx
