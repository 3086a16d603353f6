// Self-signed TLS certificates for `vaultmx init --self-signed`: a fresh ECDSA P-256 key and an X.509
// v3 certificate it signs itself (ECDSA-SHA256), naming the host in Subject Alternative Names (TLS
// clients ignore the CN). Made with wolfCrypt; stateless; any thread (control thread in practice).
// Invariants: the private key exists only as PEM in SecretBytes (locked, wiped) and in a file created
// with mode 0600; neither file ever replaces an existing one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {

inline constexpr std::uint32_t self_signed_days_max = 3650;          // ten years
inline constexpr std::size_t self_signed_common_name_bytes_max = 63;  // wolfSSL keeps 64 bytes with the NUL
inline constexpr std::size_t self_signed_dns_name_bytes_max = 253;    // RFC 1035, without the final dot
inline constexpr std::size_t self_signed_alt_names_max = 32;          // DNS names and IP addresses together

struct SelfSignedRequest {
    std::string common_name = "localhost";                // host-name characters, like dns_names
    std::vector<std::string> dns_names = {"localhost"};   // [A-Za-z0-9.-], labels of 1 to 63 bytes
    std::vector<std::string> ip_addresses = {"127.0.0.1"};  // IPv4 or IPv6 text, as inet_pton reads it
    std::uint32_t days_valid = 825;                       // 1 to self_signed_days_max
};

struct PemPair {
    std::string certificate_pem;  // "-----BEGIN CERTIFICATE-----"
    SecretBytes key_pem;          // "-----BEGIN EC PRIVATE KEY-----" (RFC 5915), in locked memory
};

// A new key and certificate: random positive 128-bit serial, valid from five minutes ago (clock skew)
// for days_valid days, not a CA, key usage digitalSignature, extended key usage serverAuth.
// Errors: CryptoErrc::invalid_argument (a name with other characters or too long, an address
// inet_pton refuses, no names at all, more than self_signed_alt_names_max, days_valid out of range),
// CryptoErrc::random_failed, or a wolfCrypt error code (category "wolfcrypt") if it fails.
Result<PemPair> make_self_signed(const SelfSignedRequest& request);

// Makes a pair and writes it: the key with mode 0600, the certificate with 0644, each created with
// O_CREAT|O_EXCL|O_NOFOLLOW and fsync'ed, then their directories. Never overwrites: if either path
// exists the answer is std::errc::file_exists and neither file is created; on any failure the files
// this call created are removed. The same path for both is invalid_argument.
Result<void> write_self_signed(const SelfSignedRequest& request, const std::string& cert_path,
                               const std::string& key_path);

}  // namespace vmx::crypto
