// The support view's header fields (see support_headers.h).
#include "appliance/mailstore/support_headers.h"

#include <array>

#include "appliance/common/display_text.h"

namespace vmx {
namespace {

constexpr std::size_t date_bytes_max = 256;  // a Date: value longer than this is not a date anyone wrote
constexpr std::size_t comment_depth_max = 8;  // RFC 5322 3.2.2 comments nest; deeper is an attack

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_word(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// One field's value as it is collected: runs of white space (the folds among them) become one
// space, and nothing past `raw_bytes_max` is kept, so a huge field costs no memory.
class Value {
public:
    explicit Value(std::size_t raw_bytes_max) : raw_bytes_max_(raw_bytes_max) {}
    bool started() const noexcept { return started_; }
    void start() noexcept { started_ = true; }
    void add(std::string_view part) {
        for (const char c : part) {
            if (raw_.size() >= raw_bytes_max_) return;
            const bool space = is_wsp(c) || c == '\r' || c == '\n';
            if (space && (raw_.empty() || raw_.back() == ' ')) continue;  // leading, or a run: one space
            raw_ += space ? ' ' : c;
        }
    }
    std::string finish(std::size_t bytes_max) const {
        const std::string safe = display_safe(raw_);
        std::string_view text = cut_utf8(safe, bytes_max);
        while (!text.empty() && text.back() == ' ') text.remove_suffix(1);  // also where the cut left one
        return std::string(text);
    }

private:
    std::size_t raw_bytes_max_;
    std::string raw_;
    bool started_ = false;
};

// The value's offset in `line` when the line starts a field (a name of printable ASCII, white
// space allowed before the colon as RFC 5322 4.5 allows); nothing for any other line.
std::optional<std::size_t> field_value_at(std::string_view line, std::string_view& name) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    name = line.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return std::nullopt;
    for (const char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) return std::nullopt;
    }
    return colon + 1;
}

// ---- RFC 5322 3.3 dates -----------------------------------------------------------------------

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

struct ZoneName {
    std::string_view name;
    int offset_minutes;
};
// RFC 5322 4.3 obs-zone; military letters count as -0000 (unknown), as 4.3 says.
constexpr std::array<ZoneName, 11> kZones = {{{"ut", 0}, {"gmt", 0}, {"z", 0}, {"est", -300}, {"edt", -240},
                                              {"cst", -360}, {"cdt", -300}, {"mst", -420}, {"mdt", -360},
                                              {"pst", -480}, {"pdt", -420}}};

class DateScanner {
public:
    explicit DateScanner(std::string_view text) : s_(text) {}

    // White space and comments; false for a comment that is unbalanced or nests too deep.
    bool skip_cfws() {
        while (i_ < s_.size()) {
            if (is_wsp(s_[i_]) || s_[i_] == '\r' || s_[i_] == '\n') {
                ++i_;
            } else if (s_[i_] == '(') {
                if (!skip_comment()) return false;
            } else {
                break;
            }
        }
        return true;
    }
    std::optional<unsigned> number(std::size_t digits_min, std::size_t digits_max) {
        unsigned v = 0;
        std::size_t n = 0;
        while (i_ < s_.size() && is_digit(s_[i_]) && n < digits_max) {
            v = v * 10 + static_cast<unsigned>(s_[i_++] - '0');
            ++n;
        }
        if (n < digits_min || (i_ < s_.size() && is_digit(s_[i_]))) return std::nullopt;
        return v;
    }
    std::size_t digits_ahead() const {
        std::size_t n = 0;
        while (i_ + n < s_.size() && is_digit(s_[i_ + n])) ++n;
        return n;
    }
    std::string_view word() {
        const std::size_t begin = i_;
        while (i_ < s_.size() && is_letter(s_[i_])) ++i_;
        return s_.substr(begin, i_ - begin);
    }
    bool take(char c) {
        if (i_ >= s_.size() || s_[i_] != c) return false;
        ++i_;
        return true;
    }
    bool peek_letter() const { return i_ < s_.size() && is_letter(s_[i_]); }
    bool at_end() const { return i_ == s_.size(); }

private:
    bool skip_comment() {
        std::size_t depth = 0;
        while (i_ < s_.size()) {
            const char c = s_[i_++];
            if (c == '\\') {
                if (i_ < s_.size()) ++i_;
            } else if (c == '(') {
                if (++depth > comment_depth_max) return false;
            } else if (c == ')') {
                if (--depth == 0) return true;
            }
        }
        return false;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

template <std::size_t N>
std::optional<unsigned> index_of(const std::array<std::string_view, N>& names, std::string_view word) {
    for (std::size_t k = 0; k < N; ++k)
        if (same_word(names[k], word)) return static_cast<unsigned>(k);
    return std::nullopt;
}

bool is_leap(unsigned year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

unsigned days_in_month(unsigned year, unsigned month) {  // month 1..12
    constexpr std::array<unsigned, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

// Days since 1970-01-01 of a date of the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// The zone as minutes east of UTC: "+hhmm", "-hhmm" or an obsolete name.
std::optional<int> zone_offset(DateScanner& in) {
    const bool plus = in.take('+');
    if (plus || in.take('-')) {
        auto hhmm = in.number(4, 4);
        if (!hhmm || *hhmm / 100 > 23 || *hhmm % 100 >= 60) return std::nullopt;
        const int minutes = static_cast<int>(*hhmm / 100 * 60 + *hhmm % 100);
        return plus ? minutes : -minutes;
    }
    const std::string_view name = in.word();
    for (const ZoneName& z : kZones)
        if (same_word(z.name, name)) return z.offset_minutes;
    if (name.size() == 1) return 0;  // a military zone letter
    return std::nullopt;
}

struct CivilTime {
    unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

std::optional<CivilTime> civil_date(DateScanner& in) {
    CivilTime t;
    if (in.peek_letter()) {
        if (!index_of(kDays, in.word()) || !in.skip_cfws() || !in.take(',') || !in.skip_cfws()) return std::nullopt;
    }
    auto day = in.number(1, 2);
    if (!day || !in.skip_cfws()) return std::nullopt;
    auto month = index_of(kMonths, in.word());
    if (!month || !in.skip_cfws()) return std::nullopt;
    const std::size_t year_digits = in.digits_ahead();
    auto year = in.number(2, 4);
    if (!year || !in.skip_cfws()) return std::nullopt;
    if (year_digits == 2) *year += *year < 50 ? 2000 : 1900;  // RFC 5322 4.3
    else if (year_digits == 3) *year += 1900;
    t.day = *day;
    t.month = *month + 1;
    t.year = *year;
    return t;
}

bool clock_time(DateScanner& in, CivilTime& t) {
    auto hour = in.number(1, 2);
    if (!hour || !in.skip_cfws() || !in.take(':') || !in.skip_cfws()) return false;
    auto minute = in.number(2, 2);
    if (!minute || !in.skip_cfws()) return false;
    std::optional<unsigned> second = 0u;
    if (in.take(':')) {
        if (!in.skip_cfws()) return false;
        second = in.number(2, 2);
        if (!second || !in.skip_cfws()) return false;
    }
    t.hour = *hour;
    t.minute = *minute;
    t.second = *second;
    return true;
}

}  // namespace

std::optional<std::int64_t> parse_message_date(std::string_view value) {
    if (value.size() > date_bytes_max) return std::nullopt;
    DateScanner in(value);
    if (!in.skip_cfws()) return std::nullopt;
    auto t = civil_date(in);
    if (!t || !clock_time(in, *t)) return std::nullopt;
    auto zone = zone_offset(in);
    if (!zone || !in.skip_cfws() || !in.at_end()) return std::nullopt;
    if (t->year < 1900 || t->year > 9999 || t->day < 1 || t->day > days_in_month(t->year, t->month) ||
        t->hour > 23 || t->minute > 59 || t->second > 60)
        return std::nullopt;
    const std::int64_t local = days_from_civil(t->year, t->month, t->day) * 86400 + std::int64_t{t->hour} * 3600 +
                               std::int64_t{t->minute} * 60 + std::int64_t{t->second};
    return local - std::int64_t{*zone} * 60;
}

std::optional<std::size_t> header_section_end(std::string_view head) {
    std::size_t pos = 0;
    for (;;) {
        const std::size_t lf = head.find('\n', pos);
        if (lf == std::string_view::npos) return std::nullopt;
        if (lf == pos || (lf == pos + 1 && head[pos] == '\r')) return lf + 1;
        pos = lf + 1;
    }
}

SupportHeaders read_support_headers(std::string_view head, const SupportHeaderLimits& limits) {
    SupportHeaders out;
    const bool whole = head.size() <= limits.section_bytes_max;  // else the last line may be cut: not read
    const std::string_view section = head.substr(0, limits.section_bytes_max);
    // A few bytes over the limit, so that display_safe sees whole UTF-8 sequences before the cut.
    Value from(limits.value_bytes_max + 4), subject(limits.value_bytes_max + 4), date(date_bytes_max + 1);
    Value* current = nullptr;
    for (std::size_t pos = 0; pos < section.size();) {
        std::size_t lf = section.find('\n', pos);
        if (lf == std::string_view::npos && !whole) break;
        if (lf == std::string_view::npos) lf = section.size();
        std::string_view line = section.substr(pos, lf - pos);
        pos = lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) {
            out.section_complete = true;
            break;
        }
        if (is_wsp(line.front())) {  // a continuation (RFC 5322 2.2.3): unfolded into the field
            if (current != nullptr) current->add(line);
            continue;
        }
        current = nullptr;
        std::string_view name;
        const auto at = field_value_at(line, name);
        if (!at) continue;  // neither a field nor a continuation: skipped, as a reader would
        Value* target = nullptr;
        if (same_word(name, "from")) target = &from;
        else if (same_word(name, "subject")) target = &subject;
        else if (same_word(name, "date")) target = &date;
        if (target == nullptr || target->started()) continue;  // another field, or a second one
        target->start();
        target->add(line.substr(*at));
        current = target;
    }
    if (from.started()) out.from = from.finish(limits.value_bytes_max);
    if (subject.started()) out.subject = subject.finish(limits.value_bytes_max);
    if (date.started()) out.date_unix = parse_message_date(date.finish(date_bytes_max + 1));
    return out;
}

}  // namespace vmx
