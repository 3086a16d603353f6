// Certificates from the ACME CA, kept as appliance secrets (sealed under the master key like every
// other secret, in the `keys` environment, so backups and master-key rotation carry them):
//   "acme/account"        the account's P-256 key (PEM)
//   "acme/cert/NAME"      the certificate's key (PEM) followed by its chain (PEM), NAME its first
//                         host name (or "h-" and 32 hex digits of its SHA-256 when that is long)
// Key and chain sit in one record so a crash can never pair a new chain with an old key.
// Threads: writes on the control thread (the one writer of `keys`); reads on any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/acme/acme_client.h"
#include "appliance/keys/key_service.h"
#include "crypto/acme/acme_key.h"
#include "net/tls/tls_context.h"

namespace vmx {

inline constexpr std::string_view acme_account_secret = "acme/account";
inline constexpr std::string_view acme_cert_prefix = "acme/cert/";

struct StoredCertificate {
    std::string secret_name;
    crypto::ChainInfo info;                                 // names, expiry, serial, issuer
    std::shared_ptr<const net::TlsCertificatePem> pem;      // what the TLS contexts load
};

// The secret name of a certificate whose first name is `first`.
std::string acme_cert_secret_name(const std::string& first);

// Every stored certificate, in name order. A record that no longer opens or parses is skipped and
// named in `skipped` (the caller logs it; the next order replaces it).
Result<std::vector<StoredCertificate>> load_acme_certificates(const KeyService& keys, std::vector<std::string>& skipped);
Result<void> store_acme_certificate(KeyService& keys, const AcmeIssued& issued, std::int64_t now_unix);

// The account key, made and stored on first use.
Result<crypto::AcmeKey> acme_account_key(KeyService& keys, std::int64_t now_unix);

}  // namespace vmx
