// What every SMTP server engine fuzz target checks of the engine's output, and the small limits
// they run under, and how they feed it: replies are whole CRLF lines
// that start with a 3-digit code, and a handed-over message keeps its limits and has no bare CR or
// LF (nothing a different parser could read as a second message). Test-only.
#pragma once

#include <string>

#include "core/assert.h"
#include "net/smtp/session.h"

namespace vmx::smtp::fuzz {

// Small limits, so the fuzzer reaches every limit with short inputs.
inline Limits small_limits() {
    Limits l;
    l.line_bytes_max = 128;
    l.text_line_bytes_max = 128;
    l.message_bytes_max = 4096;
    l.recipients_max = 4;
    l.errors_max = 50;
    l.reply_bytes_max = 512;
    return l;
}

inline void check_replies(const std::string& replies) {
    std::size_t start = 0;
    while (start < replies.size()) {
        const std::size_t end = replies.find("\r\n", start);
        VMX_ASSERT(end != std::string::npos);
        VMX_ASSERT(end - start >= 3);
        for (std::size_t i = 0; i < 3; ++i) VMX_ASSERT(replies[start + i] >= '0' && replies[start + i] <= '9');
        start = end + 2;
    }
}

inline void check_message(const Envelope& m, const Limits& limits) {
    VMX_ASSERT(m.body.size() <= limits.message_bytes_max);
    VMX_ASSERT(!m.recipients.empty() && m.recipients.size() <= limits.recipients_max);
    VMX_ASSERT(!m.helo_name.empty());
    for (std::size_t i = 0; i < m.body.size(); ++i) {
        if (m.body[i] == '\r') VMX_ASSERT(i + 1 < m.body.size() && m.body[i + 1] == '\n');
        if (m.body[i] == '\n') VMX_ASSERT(i > 0 && m.body[i - 1] == '\r');
    }
}

// Feeds what the client has sent so far as the connection adapter does: while the engine makes
// progress, replies checked after each call; bytes after STARTTLS dropped.
inline void feed_held(Session& session, std::string& held, Effects& fx) {
    while (!held.empty()) {
        const std::size_t used = session.feed(held, fx);
        VMX_ASSERT(used <= held.size());
        held.erase(0, used);
        if (fx.start_tls) held.clear();
        if (used == 0) break;
        check_replies(fx.replies);
        fx.replies.clear();
    }
}

}  // namespace vmx::smtp::fuzz
