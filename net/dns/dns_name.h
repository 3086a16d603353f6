// Checks on domain names before they are asked for or connected to. Pure functions; any thread.
// Names are ASCII (A-labels); a trailing dot is allowed and not counted against the length limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vmx::net::dns {

// A name the resolver may ask for: labels of 1..63 letters, digits, '-' or '_' (the '_' for
// "_25._tcp.mx.example" TLSA names), at most name_bytes_max bytes.
bool is_query_name(std::string_view name, std::size_t name_bytes_max) noexcept;

// A mail host name (RFC 5321 4.1.2 Domain): labels of letters, digits and '-', not starting or
// ending with '-'; and not numeric (see is_numeric_name).
bool is_host_name(std::string_view name, std::size_t name_bytes_max) noexcept;

// True when the last label is all digits: "192.0.2.1" written as a name. RFC 1123 2.1 keeps the
// top-level label alphabetic so such names can be told from addresses; MX targets must be names
// (RFC 5321 5.1), never address literals.
bool is_numeric_name(std::string_view name) noexcept;

// Lower case, without the trailing dot: the form hosts are compared and logged in.
std::string canonical_name(std::string_view name);

}  // namespace vmx::net::dns
