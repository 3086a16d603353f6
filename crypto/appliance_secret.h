// Secrets the appliance itself must use in the clear later (a smarthost password, a log
// collector's credential). Each is sealed like a stored record (crypto/sealed_record.h) under a
// key derived from the master key, bound to the secret's name, so it is unreadable without the
// master key and cannot be moved to another name. A fresh data key per seal means the derived key
// never encrypts with GCM itself and has no invocation budget to exhaust. Any thread.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/master_key.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {

inline constexpr std::size_t appliance_secret_name_bytes_max = 128;

Result<std::vector<std::uint8_t>> seal_appliance_secret(const MasterKey& master, std::string_view name,
                                                        std::span<const std::uint8_t> secret);
Result<SecretBytes> open_appliance_secret(const MasterKey& master, std::string_view name,
                                          std::span<const std::uint8_t> sealed);

}  // namespace vmx::crypto
