// MessageSource: unique, realistic message bodies for the load. See message_source.h.
#include "benchmarks/mail/message_source.h"

#include <array>
#include <charconv>
#include <ctime>

#include <fmt/format.h>

#include "core/assert.h"

namespace vmx::bench {
namespace {

constexpr std::size_t text_line_bytes = 72;
constexpr std::size_t base64_line_bytes = 76;
constexpr std::size_t text_part_bytes_with_attachment = 3000;

constexpr std::array<std::string_view, 48> words = {
    "the",     "meeting",  "invoice", "attached", "please",  "review",  "project", "schedule",
    "next",    "week",     "team",    "update",   "report",  "numbers", "quarter", "customer",
    "order",   "shipping", "delivery", "thanks",  "regards", "question", "about",  "service",
    "account", "payment",  "reminder", "draft",   "final",   "version", "changes", "notes",
    "office",  "tomorrow", "morning", "call",     "agenda",  "budget",  "plan",    "server",
    "mailbox", "contract", "signed",  "copy",     "photos",  "holiday", "family",  "weekend",
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string rfc5322_date() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return std::string(buf, n);
}

}  // namespace

Result<std::size_t> parse_size(std::string_view text) {
    text = trim(text);
    std::size_t unit = 1;
    if (!text.empty() && (text.back() == 'k' || text.back() == 'K')) unit = 1024;
    if (!text.empty() && (text.back() == 'm' || text.back() == 'M')) unit = std::size_t{1024} * 1024;
    if (unit != 1) text.remove_suffix(1);
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        return fail(std::make_error_code(std::errc::invalid_argument));
    if (value > message_bytes_max / unit) return fail(std::make_error_code(std::errc::result_out_of_range));
    value *= unit;
    if (value < message_bytes_min || value > message_bytes_max)
        return fail(std::make_error_code(std::errc::result_out_of_range));
    return value;
}

Result<std::vector<SizeWeight>> parse_size_dist(std::string_view text, std::string& error) {
    std::vector<SizeWeight> out;
    std::uint64_t total = 0;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        line = trim(line);
        if (line.empty()) continue;
        const std::size_t space = line.find_first_of(" \t");
        auto size = parse_size(line.substr(0, space));
        std::uint32_t weight = 0;
        const std::string_view weight_text = space == std::string_view::npos ? "" : trim(line.substr(space));
        const auto [end, ec] = std::from_chars(weight_text.data(), weight_text.data() + weight_text.size(), weight);
        if (!size || weight_text.empty() || ec != std::errc() || end != weight_text.data() + weight_text.size()) {
            error = fmt::format("line {}: expected \"SIZE WEIGHT\" with SIZE {}..{} bytes (e.g. \"10k 60\")", line_no,
                                message_bytes_min, message_bytes_max);
            return fail(std::make_error_code(std::errc::invalid_argument));
        }
        if (out.size() == size_dist_entries_max) {
            error = fmt::format("more than {} sizes", size_dist_entries_max);
            return fail(std::make_error_code(std::errc::result_out_of_range));
        }
        out.push_back({*size, weight});
        total += weight;
    }
    if (out.empty() || total == 0) {
        error = "no size with a weight above zero";
        return fail(std::make_error_code(std::errc::invalid_argument));
    }
    return out;
}

MessageSource::MessageSource(std::vector<SizeWeight> sizes, std::uint64_t seed, std::string id_suffix)
    : sizes_(std::move(sizes)), state_(seed | 1), id_suffix_(std::move(id_suffix)) {
    for (const SizeWeight& s : sizes_) weight_total_ += s.weight;
    VMX_ASSERT(weight_total_ > 0);
}

// xorshift64*: fast, and the bodies only need to differ, not to be unpredictable.
std::uint64_t MessageSource::random() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1DULL;
}

std::size_t MessageSource::next_size() {
    if (sizes_.size() == 1) return sizes_.front().bytes;
    std::uint64_t pick = random() % weight_total_;
    for (const SizeWeight& s : sizes_) {
        if (pick < s.weight) return s.bytes;
        pick -= s.weight;
    }
    return sizes_.back().bytes;
}

std::string_view MessageSource::word() { return words[random() % words.size()]; }

// Plain text lines of about text_line_bytes; a line never starts with '.' (words are letters).
void MessageSource::add_text(std::string& out, std::size_t bytes) {
    const std::size_t end = out.size() + bytes;
    while (out.size() + 2 < end) {
        const std::size_t line_start = out.size();
        const std::size_t line_end = std::min(end - 2, line_start + text_line_bytes);
        while (out.size() < line_end) {
            const std::string_view w = word();
            if (out.size() != line_start) out += ' ';
            out += w;
        }
        out += "\r\n";
    }
}

void MessageSource::add_html(std::string& out, std::size_t bytes) {
    const std::size_t end = out.size() + bytes;
    out += "<html><body>\r\n";
    while (out.size() + 40 < end) {
        out += "<p>";
        add_text(out, std::min<std::size_t>(end - out.size() - 8, 4 * text_line_bytes));
        out += "</p>\r\n";
    }
    out += "</body></html>\r\n";
}

void MessageSource::add_base64(std::string& out, std::size_t bytes) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const std::size_t lines = bytes / (base64_line_bytes + 2) + 1;
    out.reserve(out.size() + lines * (base64_line_bytes + 2));
    for (std::size_t l = 0; l < lines; ++l) {
        // Six bits of random data per character: the encoding of random bytes, without the bytes.
        for (std::size_t i = 0; i < base64_line_bytes; i += 10) {
            std::uint64_t r = random();
            for (std::size_t j = 0; j < 10 && i + j < base64_line_bytes; ++j, r >>= 6) out += alphabet[r & 63];
        }
        out += "\r\n";
    }
}

void MessageSource::build(std::size_t bytes, std::string_view from, const std::vector<std::string_view>& to,
                          std::string& out, std::string& message_id) {
    out.clear();
    out.reserve(bytes + 1024);
    message_id = fmt::format("<{}.{}>", ++sequence_, id_suffix_);
    const std::uint64_t tag = random();
    out += fmt::format("From: Load Sender <{}>\r\nTo: ", from);
    for (std::size_t i = 0; i < to.size(); ++i) out += fmt::format("{}<{}>", i ? ",\r\n " : "", to[i]);
    out += fmt::format("\r\nSubject: {} {} {} {:x}\r\nDate: {}\r\nMessage-ID: {}\r\nMIME-Version: 1.0\r\n", word(),
                       word(), word(), tag & 0xffffff, rfc5322_date(), message_id);
    const std::string boundary = fmt::format("=_part_{:016x}", tag);
    const bool attachment = bytes >= attachment_bytes_min;
    out += fmt::format("Content-Type: multipart/{}; boundary=\"{}\"\r\n\r\n",
                       attachment ? "mixed" : "alternative", boundary);
    out += "This is a multi-part message in MIME format.\r\n";
    const std::size_t closing = boundary.size() + 8;
    const std::size_t rest = bytes > out.size() + closing + 400 ? bytes - out.size() - closing - 400 : 200;
    out += fmt::format("--{}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n", boundary);
    if (!attachment) {
        add_text(out, rest / 2);
        out += fmt::format("--{}\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n", boundary);
        add_html(out, bytes > out.size() + closing ? bytes - out.size() - closing : 40);
    } else {
        add_text(out, std::min(rest / 4, text_part_bytes_with_attachment));
        out += fmt::format("--{}\r\nContent-Type: application/octet-stream; name=\"data-{:x}.bin\"\r\n"
                           "Content-Transfer-Encoding: base64\r\n"
                           "Content-Disposition: attachment; filename=\"data-{:x}.bin\"\r\n\r\n",
                           boundary, tag & 0xffff, tag & 0xffff);
        const std::size_t attachment_bytes = bytes > out.size() + closing ? bytes - out.size() - closing : 80;
        add_base64(out, attachment_bytes > base64_line_bytes + 2 ? attachment_bytes - base64_line_bytes - 2 : 0);
    }
    out += fmt::format("--{}--\r\n", boundary);
}

}  // namespace vmx::bench
