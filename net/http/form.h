// The parts of a request the portal reads beyond the head: percent-encoding (RFC 3986 2.1),
// application/x-www-form-urlencoded bodies (URL Standard 5), the origin-form target (RFC 9112
// 3.2.1) and the Cookie field (RFC 6265 4.2.1). Pure; any thread. Bytes from a client: malformed
// input is a value (nullopt, or a pair skipped), never an assertion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmx::http {

enum class PlusMode : std::uint8_t {
    space,    // '+' is a space: form bodies and query strings
    literal,  // '+' is itself: paths
};

// nullopt on a '%' not followed by two hex digits. The result may hold any byte, NUL included.
std::optional<std::string> percent_decode(std::string_view text, PlusMode plus);

// Every byte but the unreserved ones (RFC 3986 2.3: ALPHA DIGIT - . _ ~) as %XX, upper-case: safe
// in a query string, a path segment and a Location value.
std::string percent_encode(std::string_view text);

// name=value pairs split on '&', both decoded with PlusMode::space, in order. Strict, as browsers
// write them: every pair has '=' and a name; "" is no pair at all. nullopt when malformed, when
// there are more than fields_max pairs, or when a name or value is over value_bytes_max decoded.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view body,
                                                                           std::size_t fields_max,
                                                                           std::size_t value_bytes_max);

struct Target {
    std::string path;   // percent-decoded (PlusMode::literal); starts with '/'
    std::string query;  // after the first '?', raw (parse_form decodes it): visible ASCII only
};

// The origin-form "/path?query" only. nullopt for the absolute and authority forms and "*", a
// fragment, a byte that is not visible ASCII, an encoded '/' (%2F) in the path, and a decoded path
// with a control byte (NUL, CR, LF...), a '\' , an empty segment ("//") or a "." or ".." segment:
// each could make the path name another file, or, echoed in a Location, another site.
std::optional<Target> split_target(std::string_view target);

// The Cookie field's value, "a=b; c=d" (RFC 6265 4.2.1; 5.4 for how a user agent writes it): the
// first cookies_max well-formed pairs, as views into `value`, a quoted value without its quotes.
// A pair whose name is not a token or whose value has a byte outside cookie-octet is skipped.
std::vector<std::pair<std::string_view, std::string_view>> parse_cookies(std::string_view value,
                                                                         std::size_t cookies_max);

}  // namespace vmx::http
