// DKIM keys as appliance secrets, and the signing keyring built from them. Each key is one secret
// named "dkim/DOMAIN/SELECTOR" whose sealed value holds its algorithm, creation time, retirement
// time (0 while it signs) and the PKCS#8 PEM private key, all under the secret's seal (so the
// metadata cannot be altered either). A domain has at most one active key; `dkim rotate` retires the
// active one (it stays published until its signatures age out) and makes a new one active.
// Encoding and loading: control thread; the keyring is an immutable snapshot any thread may read.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "crypto/dkim_key.h"
#include "crypto/secret_bytes.h"

namespace vmx {

class KeyService;

inline constexpr std::string_view dkim_secret_prefix = "dkim/";

struct DkimKey {
    std::string domain;    // lower case, no trailing dot
    std::string selector;  // [a-z0-9-]{1,63}
    crypto::DkimAlgorithm algorithm = crypto::DkimAlgorithm::rsa_sha256;
    std::int64_t created_unix = 0;
    std::int64_t retired_unix = 0;   // 0: active (signs); else when it stopped signing
    crypto::SecretBytes private_pem;
};

// "dkim/DOMAIN/SELECTOR"; nullopt when the name would not be a valid secret name (too long).
std::optional<std::string> dkim_secret_name(std::string_view domain, std::string_view selector);
// The value sealed under that name, and back (store corrupt on a malformed value).
crypto::SecretBytes encode_dkim_key(const DkimKey& key);
Result<DkimKey> decode_dkim_key(std::string_view secret_name, const crypto::SecretBytes& value);

// What signing needs: each domain's active key. Built by the control thread, shared read-only.
struct DkimSigningKey {
    std::string selector;
    crypto::DkimAlgorithm algorithm = crypto::DkimAlgorithm::rsa_sha256;
    crypto::SecretBytes private_pem;
};
struct DkimKeyring {
    std::unordered_map<std::string, DkimSigningKey> by_domain;  // lower-case domain
    const DkimSigningKey* find(std::string_view domain) const;  // case-insensitive
};

// Every dkim/ secret, opened (control thread). A record that fails to open or decode is logged by
// name and skipped, never fatal: signing goes on with the others.
Result<std::vector<DkimKey>> load_dkim_keys(const KeyService& keys);
// The active ones as a keyring.
std::shared_ptr<const DkimKeyring> dkim_keyring_of(std::vector<DkimKey>&& keys);

}  // namespace vmx
