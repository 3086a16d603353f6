// The header scanner: one pass over the lines of the header section. Pure; any thread. Each byte
// is looked at a bounded number of times (the line-end search, the NUL and CR checks, the field
// name, and the address parser's at most two passes over From:/Sender: values), so the cost is
// linear in the section, and nothing past it (or past section_bytes_max) is read.
#include "net/smtp/headers.h"

#include <optional>
#include <utility>

#include "net/smtp/address_list.h"
#include "net/smtp/path.h"

namespace vmx::smtp {
namespace {

enum class Field : std::uint8_t { other, from, sender, date, message_id, received };

bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
// ftext (RFC 5322 3.6.8): printable ASCII except ":".
bool is_ftext(char c) noexcept { return c > ' ' && c < '\x7f' && c != ':'; }

// The field name of a field line and where its colon is; npos when the line is not a field.
// Whitespace between name and colon is obs-optional's (RFC 5322 4.5.8), still seen in the wild.
std::size_t find_colon(std::string_view line, std::string_view& name) noexcept {
    std::size_t i = 0;
    while (i < line.size() && is_ftext(line[i])) ++i;
    name = line.substr(0, i);
    while (i < line.size() && is_wsp(line[i])) ++i;
    if (name.empty() || i == line.size() || line[i] != ':') return std::string_view::npos;
    return i;
}

Field classify(std::string_view name) noexcept {
    if (iequals(name, "From")) return Field::from;
    if (iequals(name, "Sender")) return Field::sender;
    if (iequals(name, "Date")) return Field::date;
    if (iequals(name, "Message-ID")) return Field::message_id;
    if (iequals(name, "Received")) return Field::received;
    return Field::other;
}

class Scanner {
public:
    Scanner(const HeaderLimits& limits, HeaderSummary& out) : limits_(limits), out_(out) {}

    // One line without its line end. False (with out_.problem set) when scanning must stop.
    bool line(std::string_view text) {
        // RFC 5322 2.2: no NUL, and CR only before LF; either could hide a line from another reader.
        if (text.find('\0') != std::string_view::npos || text.find('\r') != std::string_view::npos) {
            return stop(HeaderProblem::malformed);
        }
        if (is_wsp(text.front())) {  // a continuation (RFC 5322 2.2.3): unfolding drops the line end
            if (fields_ == 0) return stop(HeaderProblem::malformed);  // nothing to continue
            if (current_ == Field::from || current_ == Field::sender) value_.append(text);
            return true;
        }
        std::string_view name;
        const std::size_t colon = find_colon(text, name);
        if (colon == std::string_view::npos) return stop(HeaderProblem::malformed);
        if (fields_ == limits_.fields_max) return stop(HeaderProblem::too_long);
        finish_field();
        ++fields_;
        current_ = classify(name);
        count(current_);
        value_.assign(text.substr(colon + 1));
        return true;
    }

    void finish_field() {
        if (current_ == Field::from) parse_into(out_.from, out_.from_parsed);
        if (current_ == Field::sender) parse_into(out_.sender, out_.sender_parsed);
        current_ = Field::other;
        value_.clear();
    }

    bool stop(HeaderProblem problem) {
        out_.problem = problem;
        if (current_ == Field::from) out_.from_parsed = false;  // its value was not read to the end
        if (current_ == Field::sender) out_.sender_parsed = false;
        return false;
    }

private:
    void count(Field f) noexcept {
        if (f == Field::from) ++out_.from_fields;
        if (f == Field::sender) ++out_.sender_fields;
        if (f == Field::date) ++out_.date_fields;
        if (f == Field::message_id) ++out_.message_id_fields;
        if (f == Field::received) ++out_.received_fields;
    }

    // addresses_max holds for all From: fields together (RFC 5322 3.6 allows one; the limit is
    // on what a message may make us compare).
    void parse_into(std::vector<std::string>& list, bool& parsed) {
        const std::size_t room = limits_.addresses_max - list.size();
        std::optional<std::vector<std::string>> parsed_list = parse_mailbox_list(value_, room);
        if (!parsed_list) {
            parsed = false;
            return;
        }
        for (std::string& a : *parsed_list) list.push_back(std::move(a));
    }

    const HeaderLimits& limits_;
    HeaderSummary& out_;
    Field current_ = Field::other;
    std::size_t fields_ = 0;
    std::string value_;  // the unfolded value of the open From: or Sender: field
};

}  // namespace

HeaderSummary scan_headers(std::string_view message, const HeaderLimits& limits) {
    HeaderSummary out;
    Scanner scanner(limits, out);
    // Only this much is ever searched: a section that does not end inside it is too long.
    const std::string_view window = message.substr(0, limits.section_bytes_max);
    std::size_t pos = 0;
    while (pos < message.size()) {
        const std::size_t lf = window.find('\n', pos);
        if (lf == std::string_view::npos && window.size() < message.size()) {
            out.section_bytes = pos;
            scanner.stop(HeaderProblem::too_long);
            return out;
        }
        const std::size_t end = lf == std::string_view::npos ? message.size() : lf + 1;
        std::string_view text = message.substr(pos, end - pos);
        if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
        if (!text.empty() && text.back() == '\r' && lf != std::string_view::npos) text.remove_suffix(1);
        if (text.empty()) {  // the empty line (CRLF, or a tolerated bare LF) ends the section
            out.section_bytes = pos == 0 ? 0 : end;
            scanner.finish_field();
            return out;
        }
        if (!scanner.line(text)) {
            out.section_bytes = pos;
            return out;
        }
        pos = end;
    }
    out.section_bytes = message.size();
    scanner.finish_field();
    return out;
}

}  // namespace vmx::smtp
