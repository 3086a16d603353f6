// mboxrd written as a stream (see mboxrd.h).
#include "appliance/mailstore/mboxrd.h"

#include <time.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace vmx {
namespace {

constexpr std::string_view unknown_sender = "MAILER-DAEMON";

bool usable_sender(std::string_view sender) {
    if (sender.empty() || sender == "<>") return false;
    return std::none_of(sender.begin(), sender.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return b <= 0x20 || b == 0x7f;
    });
}

}  // namespace

std::string mbox_separator(std::string_view sender, std::int64_t arrival_unix) {
    static constexpr std::array<std::string_view, 7> days = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    // Our own names, not strftime's: %a and %b follow the locale, and mbox readers want English.
    const time_t t = static_cast<time_t>(arrival_unix);
    tm when{};
    if (gmtime_r(&t, &when) == nullptr || when.tm_wday < 0 || when.tm_wday > 6 || when.tm_mon < 0 || when.tm_mon > 11) {
        const time_t epoch = 0;
        gmtime_r(&epoch, &when);  // a time no calendar holds: the epoch, still a valid line
    }
    return fmt::format("From {} {} {} {:2d} {:02d}:{:02d}:{:02d} {}\n", usable_sender(sender) ? sender : unknown_sender,
                       days[static_cast<std::size_t>(when.tm_wday)], months[static_cast<std::size_t>(when.tm_mon)],
                       when.tm_mday, when.tm_hour, when.tm_min, when.tm_sec, std::int64_t{when.tm_year} + 1900);
}

void MboxrdWriter::begin(std::string_view sender, std::int64_t arrival_unix, std::string& out) {
    end(out);
    out += mbox_separator(sender, arrival_unix);
    *this = MboxrdWriter{};
    open_ = true;
}

void MboxrdWriter::feed(std::string_view bytes, std::string& out) {
    for (const char c : bytes) {
        if (pending_cr_) {
            pending_cr_ = false;
            if (c == '\n') {
                put('\n', out);  // CRLF -> LF
                continue;
            }
            put('\r', out);  // a lone CR is data
        }
        if (c == '\r') {
            flush_line_start(out);  // a line that goes on after a CR is no "From " line
            pending_cr_ = true;
            continue;
        }
        if (line_start_) {
            if (matched_ == 0 && c == '>') {
                ++quotes_;
                continue;
            }
            if (c == from_[matched_]) {
                if (++matched_ < from_.size()) continue;
                out += '>';  // the one more '>' of mboxrd, before those the line had
                out.append(quotes_, '>');
                out += from_;
                quotes_ = 0;
                matched_ = 0;
                line_start_ = false;
                last_ = ' ';
                wrote_any_ = true;
                continue;
            }
            flush_line_start(out);
        }
        put(c, out);
    }
}

void MboxrdWriter::end(std::string& out) {
    if (!open_) return;
    if (pending_cr_) {
        pending_cr_ = false;
        put('\r', out);
    }
    flush_line_start(out);
    if (wrote_any_ && last_ != '\n') out += '\n';  // mbox lines end in LF, the last one too
    out += '\n';                                   // the blank line before the next separator
    *this = MboxrdWriter{};
}

// Writes what the ">*From " match held back, unchanged: the line turned out to be another line.
void MboxrdWriter::flush_line_start(std::string& out) {
    if (!line_start_) return;
    if (quotes_ > 0 || matched_ > 0) {
        out.append(quotes_, '>');
        out.append(from_.substr(0, matched_));
        last_ = matched_ > 0 ? from_[matched_ - 1] : '>';
        wrote_any_ = true;
    }
    quotes_ = 0;
    matched_ = 0;
    line_start_ = false;
}

void MboxrdWriter::put(char c, std::string& out) {
    out += c;
    last_ = c;
    wrote_any_ = true;
    line_start_ = c == '\n';
}

}  // namespace vmx
