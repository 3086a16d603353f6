// DKIM's relaxed canonicalization (RFC 6376 3.4.2, 3.4.4) and the header data a signature covers
// (3.7, 5.4.2), for the signer. Pure functions; any thread; linear in their input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/mailauth/header_fields.h"

namespace vmx::mailauth {

// "name:value\\r\\n": the name in lower case, the value unfolded, runs of whitespace as one space,
// none around the colon or at the end. `field` is a field without its final line break.
std::string relaxed_header(std::string_view field);

// Whitespace runs as one space, none at line ends, empty lines at the end dropped, and a final CRLF
// when anything is left (a bare LF counts as a line end).
std::string relaxed_body(std::string_view body);

// The canonical fields that `names` (the h= list, in order) select: for each name, the lowest
// occurrence not selected yet (5.4.2); a name with none left selects nothing (oversigning).
std::string signed_headers(const std::vector<HeaderField>& fields, const std::vector<std::string>& names);

}  // namespace vmx::mailauth
