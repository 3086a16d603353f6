// mboxrd, written as a stream: a message's bytes go in as they come off the store, in pieces cut
// anywhere, and come out as mbox lines (RFC 4155 with the "From " quoting of mboxrd: a line that
// matches ^>*From  gets one more '>', so a reader takes exactly one off again and every body is
// given back). Stored CRLF becomes LF (mbox files are LF); a lone CR is kept. Pure; any thread,
// one writer per stream. Memory is constant: a line's '>' run is counted, never held.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vmx {

// "From SENDER Thu Jan  1 00:00:00 1970\n": the separator line of a message, its time in asctime
// form (UTC, day padded with a space, English names whatever the locale). A sender that is empty,
// the null sender "<>", or holds a space or a control byte (it would break the line) is written
// as MAILER-DAEMON.
std::string mbox_separator(std::string_view sender, std::int64_t arrival_unix);

class MboxrdWriter {
public:
    // Appends the separator line of a new message (ends the one before it first, if open).
    void begin(std::string_view sender, std::int64_t arrival_unix, std::string& out);
    // Appends the mboxrd form of the next bytes of the message.
    void feed(std::string_view bytes, std::string& out);
    // Ends the message: a last line without its newline gets one, then the blank line that parts
    // messages. Does nothing when no message is open.
    void end(std::string& out);
    bool open() const noexcept { return open_; }

private:
    void flush_line_start(std::string& out);
    void put(char c, std::string& out);

    static constexpr std::string_view from_ = "From ";
    bool open_ = false;
    bool line_start_ = true;     // the next byte begins a line (the ">*From " match runs)
    bool pending_cr_ = false;    // a CR whose next byte decides between CRLF and a lone CR
    bool wrote_any_ = false;     // the message had a byte (an empty one still gets its blank line)
    char last_ = '\n';           // the last byte written of this message
    std::uint64_t quotes_ = 0;   // '>' seen at the start of this line, not yet written
    std::size_t matched_ = 0;    // bytes of "From " seen after them, not yet written
};

}  // namespace vmx
