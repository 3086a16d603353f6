// A fixed, non-secret master key for tests: different seeds give different keys.
#pragma once

#include <cstdint>
#include <vector>

#include "core/assert.h"
#include "crypto/master_key.h"

namespace vmx::testing {

inline crypto::MasterKey fixed_master_key(std::uint8_t seed) {
    std::vector<std::uint8_t> bytes(crypto::master_key_bytes);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(seed + 7 * i);
    auto check = crypto::master_key_check(bytes);
    VMX_ASSERT(check);
    return crypto::MasterKey{crypto::SecretBytes::copy_of(bytes), *check};
}

}  // namespace vmx::testing
