// Error codes of the core layer, with their std::error_category.
#pragma once

#include <system_error>

namespace vmx {

enum class CoreErrc {
    ok = 0,
    queue_full = 1,          // an inbox or log queue had no room
    table_full = 2,          // a slot table reached its configured capacity
    bad_address = 3,         // a listen address did not parse as host:port
    ring_setup_failed = 4,   // io_uring could not be created with any flag set
    closed = 5,              // the connection is closing; no more sends
    send_queue_full = 6,     // the peer reads too slowly; the send queue is at its limit
};

const std::error_category& core_category() noexcept;

inline std::error_code make_error_code(CoreErrc e) noexcept { return {static_cast<int>(e), core_category()}; }

}  // namespace vmx

template <>
struct std::is_error_code_enum<vmx::CoreErrc> : std::true_type {};
