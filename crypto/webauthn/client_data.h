// clientDataJSON (WebAuthn L2 5.8.1) checked against the ceremony this server started. Pure; any
// thread. Internal to crypto/webauthn/.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"

namespace vmx::crypto::webauthn {

enum class Ceremony : std::uint8_t { create, get };

// In the order of L2 7.1 and 7.2 (type, challenge, origin): malformed unless it is a JSON object whose
// type, challenge and origin are strings and whose crossOrigin, if present, is a boolean;
// wrong_type, wrong_challenge (also for an expected challenge under challenge_bytes_min),
// wrong_origin (also for crossOrigin true or an empty expected origin). The size limit is the
// caller's. Other members (tokenBinding, which Level 3 dropped, and the keys browsers add on
// purpose) are ignored.
Result<void> check_client_data(std::span<const std::uint8_t> json, Ceremony ceremony,
                               std::span<const std::uint8_t> expected_challenge, std::string_view origin);

}  // namespace vmx::crypto::webauthn
