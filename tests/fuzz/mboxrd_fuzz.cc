// Fuzz target: the mboxrd writer of `user export` (appliance/mailstore/mboxrd.h). The first byte
// picks the size of the pieces the message is fed in (1 to 256 bytes); the rest is the message as
// stored. Checks: the output is the separator line, then LF lines none of which starts with
// "From ", then one blank line; taking one '>' off every line that matches ^>+From  gives back the
// message with CRLF as LF and a final LF; fed in pieces it is the same as fed whole.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/mailstore/mboxrd.h"
#include "core/assert.h"

namespace {

using namespace vmx;

std::string as_mbox_lines(std::string_view message) {
    std::string out;
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') continue;
        out += message[i];
    }
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out;
}

// A mboxrd reader's view of one message's lines: one '>' off each ^>+From  line.
std::string unquoted(std::string_view body) {
    std::string out;
    while (!body.empty()) {
        const std::size_t lf = body.find('\n');
        VMX_ASSERT(lf != std::string_view::npos);  // every line ends in LF
        std::string_view line = body.substr(0, lf + 1);
        body.remove_prefix(lf + 1);
        VMX_ASSERT(!line.starts_with("From "));
        const std::size_t quotes = line.find_first_not_of('>');
        if (quotes != 0 && quotes != std::string_view::npos && line.substr(quotes).starts_with("From "))
            line.remove_prefix(1);
        out += line;
    }
    return out;
}

std::string written(std::string_view message, std::size_t piece) {
    std::string out;
    MboxrdWriter w;
    w.begin("", 0, out);
    for (std::size_t at = 0; at < message.size(); at += piece) w.feed(message.substr(at, piece), out);
    w.end(out);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = std::size_t{data[0]} + 1;
    const std::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::string out = written(message, piece);
    VMX_ASSERT(out == written(message, message.size() + 1));
    const std::string separator = mbox_separator("", 0);
    VMX_ASSERT(out.starts_with(separator) && out.ends_with("\n\n"));  // an empty message too: separator, blank line
    const std::string_view body = std::string_view(out).substr(separator.size(), out.size() - separator.size() - 1);
    VMX_ASSERT(unquoted(body) == as_mbox_lines(message));
    return 0;
}
