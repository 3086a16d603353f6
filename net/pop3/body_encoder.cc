// BodyEncoder: dot-stuffing and line-end repair of a streamed message (see body_encoder.h). Works
// a line segment at a time (find '\n', copy the run), so the common CRLF body is copied in bulk.
#include "net/pop3/body_encoder.h"

namespace vmx::pop3 {

void BodyEncoder::reset(std::optional<std::uint64_t> top_body_lines) noexcept {
    at_line_start_ = true;
    prev_cr_ = false;
    line_has_text_ = false;
    in_headers_ = true;
    counting_ = top_body_lines.has_value();
    enough_ = false;
    body_lines_left_ = top_body_lines.value_or(0);
}

bool BodyEncoder::encode(std::string_view chunk, std::string& out) {
    while (!chunk.empty() && !enough_) {
        if (at_line_start_) {
            if (chunk.front() == '.') out.push_back('.');  // RFC 1939: byte-stuff the termination octet
            at_line_start_ = false;
        }
        const std::size_t lf = chunk.find('\n');
        const std::string_view run = chunk.substr(0, lf);  // npos: the whole chunk
        if (!run.empty()) {
            out.append(run);
            prev_cr_ = run.back() == '\r';
            if (counting_ && in_headers_ && !line_has_text_) line_has_text_ = run.find_first_not_of('\r') != run.npos;
        }
        if (lf == std::string_view::npos) break;
        out.append(prev_cr_ ? "\n" : "\r\n");  // a bare LF becomes CRLF
        end_line();
        chunk.remove_prefix(lf + 1);
    }
    return enough_;
}

void BodyEncoder::end_line() noexcept {
    at_line_start_ = true;
    prev_cr_ = false;
    if (!counting_) return;
    if (in_headers_) {
        if (!line_has_text_) in_headers_ = false;  // the blank line after the headers
        line_has_text_ = false;
        if (!in_headers_ && body_lines_left_ == 0) enough_ = true;
        return;
    }
    if (--body_lines_left_ == 0) enough_ = true;
}

void BodyEncoder::finish(std::string& out) {
    if (!at_line_start_) out.append(prev_cr_ ? "\n" : "\r\n");
    at_line_start_ = true;
    prev_cr_ = false;
    out.append(".\r\n");
}

}  // namespace vmx::pop3
