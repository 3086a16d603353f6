// Transcript text for the SMTP engines' tests (server side and client side alike): a "\n" not
// preceded by "\r" stands for CRLF, so transcripts read as plain lines.
#pragma once

#include <string>
#include <string_view>

namespace vmx::smtp::transcript_text {

inline std::string crlf(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '\n' && (out.empty() || out.back() != '\r')) out += '\r';
        out += c;
    }
    return out;
}

}  // namespace vmx::smtp::transcript_text
