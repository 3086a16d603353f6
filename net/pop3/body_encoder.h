// BodyEncoder: turns a stored message, fed in chunks of any size, into the body of a POP3
// multi-line response (RFC 1939 section 3): lines starting with '.' get one more '.', bare LF
// becomes CRLF, TOP stops after the headers, the blank line and n body lines; finish() adds the
// ".\r\n" terminator. Owned by one Session (one thread). Its state is a few flags, never a buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vmx::pop3 {

class BodyEncoder {
public:
    // top_body_lines empty: the whole message (RETR); else headers, blank line and that many lines.
    void reset(std::optional<std::uint64_t> top_body_lines) noexcept;
    // Appends the encoded chunk to out. Returns true once TOP has all its lines (the rest of the
    // message, in this chunk and any later one, is ignored).
    bool encode(std::string_view chunk, std::string& out);
    // Ends a last line that had no line end, then appends the terminator.
    void finish(std::string& out);
    bool enough() const noexcept { return enough_; }

private:
    void end_line() noexcept;

    bool at_line_start_ = true;
    bool prev_cr_ = false;        // the last byte written was CR (its LF may come in the next chunk)
    bool line_has_text_ = false;  // the current line holds something other than CR
    bool in_headers_ = true;
    bool counting_ = false;       // TOP
    bool enough_ = false;
    std::uint64_t body_lines_left_ = 0;
};

}  // namespace vmx::pop3
