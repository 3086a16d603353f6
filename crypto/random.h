// Random bytes from the kernel (getrandom(2), blocking only until the pool is initialised at boot).
// Any thread may call it. Never falls back to a weaker source: a failure is an error value.
#pragma once

#include <cstdint>
#include <span>

#include "core/result.h"

namespace vmx::crypto {

// Fills `out` completely, or fails with CryptoErrc::random_failed (out is then zeroed).
Result<void> random_bytes(std::span<std::uint8_t> out);

}  // namespace vmx::crypto
