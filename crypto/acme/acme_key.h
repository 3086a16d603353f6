// ACME's own cryptography (RFC 8555), with OpenSSL's libcrypto like DKIM keys and WebAuthn (no
// wolfSSL header here): an ECDSA P-256 key for the account and for each certificate, its JWK and
// thumbprint (RFC 7638), JWS signatures with ES256 (RFC 7515/7518: the raw r||s form, not DER), the
// certificate signing request for a set of host names, and what a PEM chain says (names, expiry).
// Any thread: every object owns its handles and is used by one thread at a time. Private keys are
// only ever written out as PEM in SecretBytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/secret_bytes.h"

struct evp_pkey_st;

namespace vmx::crypto {

class AcmeKey;
Result<std::vector<std::uint8_t>> make_csr(const AcmeKey& key, const std::vector<std::string>& names);
bool chain_matches_key(std::string_view pem, const AcmeKey& key);

inline constexpr std::size_t acme_names_max = 100;       // Let's Encrypt's limit of names per certificate
inline constexpr std::size_t acme_name_bytes_max = 253;  // RFC 1035, without the final dot
inline constexpr std::size_t acme_chain_bytes_max = 65536;

class AcmeKey {
public:
    // A fresh P-256 key. key_generation_failed when OpenSSL cannot make one.
    static Result<AcmeKey> generate();
    // A key read back from its PEM (PKCS#8 or SEC1); invalid_argument when it is not a P-256 key.
    static Result<AcmeKey> from_pem(std::span<const std::uint8_t> pem);

    AcmeKey(AcmeKey&&) noexcept;
    AcmeKey& operator=(AcmeKey&&) noexcept;
    ~AcmeKey();

    Result<SecretBytes> to_pem() const;
    // {"crv":"P-256","kty":"EC","x":"…","y":"…"}: members in the order RFC 7638 hashes them, so the
    // same text is the JWS header's jwk and the thumbprint's input.
    const std::string& jwk() const noexcept { return jwk_; }
    // base64url(SHA-256(jwk)): the account's part of every key authorization (RFC 8555 8.1).
    std::string thumbprint() const;
    // ES256 over data: 64 bytes, r then s, each left-padded to 32 bytes.
    Result<std::vector<std::uint8_t>> sign(std::span<const std::uint8_t> data) const;

private:
    struct Free {
        void operator()(evp_pkey_st* key) const noexcept;
    };
    AcmeKey(evp_pkey_st* key, std::string jwk) : key_(key), jwk_(std::move(jwk)) {}
    std::unique_ptr<evp_pkey_st, Free> key_;
    std::string jwk_;
    friend Result<std::vector<std::uint8_t>> make_csr(const AcmeKey&, const std::vector<std::string>&);
    friend bool chain_matches_key(std::string_view, const AcmeKey&);
};

// A flattened JWS (RFC 8555 6.2): the protected header holds alg ES256, nonce and url, and either
// the account's jwk (new account) or its kid (every later request). An empty payload is a
// POST-as-GET (RFC 8555 6.3). The header values are JSON-escaped here.
struct JwsHeader {
    std::string nonce;
    std::string url;
    std::string kid;  // empty: send the jwk instead
};
Result<std::string> jws_sign(const AcmeKey& key, const JwsHeader& header, std::string_view payload);

// A PKCS#10 request (DER) signed by key, naming every name as a DNS subjectAltName, the first also
// as the subject's CN. invalid_argument for no names, too many, or a name with other characters
// than [A-Za-z0-9.-].
Result<std::vector<std::uint8_t>> make_csr(const AcmeKey& key, const std::vector<std::string>& names);

bool valid_acme_name(std::string_view name) noexcept;

// What a PEM chain's first certificate says. invalid_argument when the text holds no certificate.
struct ChainInfo {
    std::vector<std::string> names;  // DNS subjectAltNames, lower case
    std::int64_t not_before_unix = 0;
    std::int64_t not_after_unix = 0;
    std::string serial_hex;          // upper-case hex, no leading zeros
    std::string issuer;              // the issuer's one-line form, for `vaultmx acme status`
    std::size_t certificates = 0;    // how many the chain holds
};
Result<ChainInfo> read_chain(std::string_view pem);
// True when the chain's first certificate carries key's public key.
bool chain_matches_key(std::string_view pem, const AcmeKey& key);

}  // namespace vmx::crypto
