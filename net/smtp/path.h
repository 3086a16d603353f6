// SMTP argument syntax: the reverse- and forward-path of MAIL FROM / RCPT TO (RFC 5321 4.1.2) and
// the ESMTP parameters after it. Pure functions over the command line; any thread. The views
// returned point into the caller's text. Only syntax is decided here; what an address may be
// (patterns, relay tricks) is decided by the session.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vmx::smtp {

struct Path {
    std::string_view mailbox;     // "local@domain" without brackets or source route; empty for <>
    std::string_view local_part;  // as written: dot-string or "quoted-string"
    std::string_view domain;      // domain or [address literal]; empty when the path has no "@"
    std::string_view params;      // what follows ">", leading spaces removed
    bool source_route = false;    // "@a,@b:" was present (obsolete; stripped from the mailbox)
};

// text is what follows "FROM:" or "TO:". False on broken syntax: no "<...>", unbalanced quotes,
// a malformed source route, or junk glued to ">".
bool parse_path(std::string_view text, Path& out) noexcept;

struct Param {
    std::string_view keyword;
    std::string_view value;  // empty when has_value is false
    bool has_value = false;
};

inline constexpr std::size_t params_max = 8;  // more ESMTP parameters than this is an abuse

struct Params {
    std::array<Param, params_max> items{};
    std::size_t count = 0;
};

// Space-separated keyword[=value]; each keyword and value checked against the ESMTP patterns.
bool parse_params(std::string_view text, Params& out) noexcept;

// ASCII case-insensitive comparison, for verbs, keywords and domains.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace vmx::smtp
