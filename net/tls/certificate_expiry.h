// When a certificate file's first (leaf) certificate expires: its notAfter as Unix seconds, for
// the metrics endpoint's days-left gauge. Read once at start-up (before the privilege drop, when
// the file may be readable by root only). Any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace vmx::net {

// NetErrc::tls_certificate_invalid when the file is missing, is not PEM, or has no usable notAfter.
Result<std::int64_t> certificate_not_after_unix(const std::string& pem_path);

}  // namespace vmx::net
