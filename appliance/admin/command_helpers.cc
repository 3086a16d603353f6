// The admin handlers' shared helpers (see command_helpers.h) and the admin argument parsers
// declared in commands.h. Control thread only.
#include "appliance/admin/command_helpers.h"
#include "appliance/directory/directory_view.h"

#include <array>
#include <charconv>
#include <ctime>

namespace vmx {
namespace admin {

AdminReply error_reply(std::string_view subject, std::error_code e) {
    const bool admin_can_fix = e.category() == directory_category();
    return {admin_can_fix ? AdminStatus::refused : AdminStatus::failed,
            subject.empty() ? e.message() : fmt::format("{}: {}", subject, e.message())};
}

std::string format_time(std::int64_t unix_s) {
    const std::time_t t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> buf{};
    const std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf.data(), n);
}

std::optional<std::int64_t> parse_since(std::string_view text) {
    std::int64_t v = 0;
    if (auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        ec == std::errc() && end == text.data() + text.size())
        return v;
    std::tm tm{};
    const std::string copy(text);
    // A day, or a moment in UTC: 2026-12-06, 2026-12-06T10:13:38, 2026-12-06T10:13:38Z.
    const char* end = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    if (end != nullptr && *end == 'Z') ++end;
    if (end == nullptr) {
        tm = std::tm{};
        end = strptime(copy.c_str(), "%Y-%m-%d", &tm);
    }
    if (end == nullptr || *end != '\0') return std::nullopt;
    return static_cast<std::int64_t>(timegm(&tm));
}

Result<User> named_user(AdminContext& c, std::string_view address) {
    auto view = DirectoryView::open(c.directory, c.keys.snapshot());
    if (!view) return fail(view.error());
    return view->find_user(address);
}

AdminReply hash_refusal(std::error_code error) {
    if (error == std::errc::invalid_argument) return refused("password: empty or longer than 1024 bytes");
    if (error == std::errc::resource_unavailable_try_again)
        return {AdminStatus::failed, "the password workers are busy; try again"};
    return error_reply("password hash", error);
}

}  // namespace admin

std::optional<std::uint64_t> parse_size(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t unit = 1;
    switch (text.back()) {
        case 'K': case 'k': unit = std::uint64_t{1} << 10; break;
        case 'M': case 'm': unit = std::uint64_t{1} << 20; break;
        case 'G': case 'g': unit = std::uint64_t{1} << 30; break;
        case 'T': case 't': unit = std::uint64_t{1} << 40; break;
        default: break;
    }
    if (unit != 1) text.remove_suffix(1);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    if (n > (std::uint64_t{1} << 50) / unit) return std::nullopt;
    return n * unit;
}

std::optional<std::uint32_t> parse_duration_s(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t unit = 1;
    switch (text.back()) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: unit = 0; break;
    }
    if (unit != 0) text.remove_suffix(1);
    else unit = 1;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    if (n > 366ull * 86400 / unit) return std::nullopt;
    return static_cast<std::uint32_t>(n * unit);
}

}  // namespace vmx
