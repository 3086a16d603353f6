// c-ares status codes as std::error_code (category "c-ares", messages from ares_strerror): the
// reason a DNS answer carries when it is a temporary failure. Any thread.
#pragma once

#include <system_error>

namespace vmx::net::dns {

const std::error_category& ares_category() noexcept;
inline std::error_code ares_error(int status) noexcept { return {status, ares_category()}; }

}  // namespace vmx::net::dns
