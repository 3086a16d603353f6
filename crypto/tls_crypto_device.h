// The wolfSSL crypto-callback device: wolfSSL hands every TLS 1.2/1.3 AES-256-GCM record to it, and
// it seals and opens them with crypto/aead.h (ipsec-mb) instead of wolfSSL's software AES (Debian's
// wolfSSL has no AES-NI). Any thread; the device is registered once per process and never removed.
// Invariant: the device changes nothing on the wire: output and tag failures are byte-for-byte
// those of wolfSSL's software path. What it does not serve (AES-128, IVs other than 96 bits, any
// other algorithm) it declines, and wolfSSL falls back to software.
#pragma once

#include <cstdint>

#include "core/result.h"

// wolfSSL's own type (typedef'd in <wolfssl/ssl.h>); declared here so that includers need not
// include wolfSSL headers in the right order (<wolfssl/options.h> first).
struct WOLFSSL_CTX;

namespace vmx::crypto {

// Registers the device on first use (thread-safe; later calls return the same answer) and returns
// its wolfSSL device id. Fails with CryptoErrc::tls_setup_failed if wolfCrypt refuses it.
Result<int> tls_crypto_device();

// Makes every WOLFSSL created from `ctx` afterwards send its AES-GCM records through the device.
Result<void> use_tls_crypto_device(WOLFSSL_CTX* ctx);

// Process-wide totals since start (relaxed: each is exact, they are not a consistent snapshot).
struct TlsDeviceCounters {
    std::uint64_t gcm_encrypts = 0;   // records sealed by the device
    std::uint64_t gcm_decrypts = 0;   // records opened by the device, tag verified
    std::uint64_t auth_failures = 0;  // records whose tag did not match (AES_GCM_AUTH_E returned)
    std::uint64_t fallbacks = 0;      // AES-GCM calls declined (128/192-bit key, IV not 96 bits...)
};
TlsDeviceCounters tls_device_counters() noexcept;

}  // namespace vmx::crypto
