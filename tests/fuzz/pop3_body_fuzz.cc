// Fuzz target: the POP3 body encoder (net/pop3/body_encoder.h) over a stored message that a sender
// chose byte for byte. The first byte picks the TOP line count and the chunk sizes; the rest is the
// message. Checks: the encoding does not depend on how the message is cut into chunks; the output
// is CRLF lines and ends with the one terminator line, which no line of the message can forge;
// undoing the byte-stuffing gives the message back with bare LFs made CRLF; TOP's output is the
// start of RETR's.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "net/pop3/body_encoder.h"

namespace {

using vmx::pop3::BodyEncoder;

std::string encode(std::string_view message, std::optional<std::uint64_t> top, std::size_t chunk_bytes) {
    BodyEncoder encoder;
    encoder.reset(top);
    std::string out;
    for (std::size_t at = 0; at < message.size() && !encoder.enough(); at += chunk_bytes) {
        encoder.encode(message.substr(at, chunk_bytes), out);
    }
    encoder.finish(out);
    return out;
}

// The message as a client reads it back (RFC 1939 3): lines up to the terminator, one leading '.'
// removed from each; nullopt when a line end is not CRLF or the terminator is not where it ends.
std::optional<std::string> decode(std::string_view body) {
    std::string out;
    std::size_t at = 0;
    while (true) {
        const std::size_t eol = body.find("\r\n", at);
        if (eol == std::string_view::npos) return std::nullopt;
        std::string_view line = body.substr(at, eol - at);
        at = eol + 2;
        if (line == ".") return at == body.size() ? std::optional<std::string>(out) : std::nullopt;
        if (!line.empty() && line.front() == '.') line.remove_prefix(1);
        out.append(line);
        out.append("\r\n");
    }
}

// What the encoder promises a reader: every bare LF made CRLF, and a last line without an end ended
// (a last CR gets its LF).
std::string with_crlf(std::string_view message) {
    std::string out;
    for (std::size_t i = 0; i < message.size(); ++i) {
        if (message[i] == '\n' && (i == 0 || message[i - 1] != '\r')) out += '\r';
        out += message[i];
    }
    if (!out.empty() && !out.ends_with("\r\n")) out += out.back() == '\r' ? "\n" : "\r\n";
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned choice = data[0];
    const std::string_view message(reinterpret_cast<const char*>(data) + 1, size - 1);

    const std::string whole = encode(message, std::nullopt, message.size() + 1);
    VMX_ASSERT(encode(message, std::nullopt, 1) == whole);
    VMX_ASSERT(encode(message, std::nullopt, 1 + choice % 7) == whole);
    const auto decoded = decode(whole);
    VMX_ASSERT(decoded.has_value());
    // A bare CR stays (it is no line end to a POP3 client); everything else comes back as sent.
    VMX_ASSERT(*decoded == with_crlf(message));

    const std::uint64_t lines = choice >> 3;
    const std::string top = encode(message, lines, 1 + choice % 5);
    VMX_ASSERT(encode(message, lines, message.size() + 1) == top);
    VMX_ASSERT(decode(top).has_value());
    VMX_ASSERT(top.size() <= whole.size());
    VMX_ASSERT(std::string_view(whole).starts_with(std::string_view(top).substr(0, top.size() - 3)));
    return 0;
}
