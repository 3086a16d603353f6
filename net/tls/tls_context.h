// TLS contexts: RAII over WOLFSSL_CTX for the listeners (TlsServerContext) and the outbound client
// (TlsClientContext). Built and checked on the main thread at start-up, then shared read-only by
// every shard (shared_ptr<const>): wolfSSL's CTX is safe to share once set up (its reference count
// sits behind a mutex taken once per session, never per record), start-up errors surface as one
// line on the main thread, and a ticket issued on one shard resumes on whichever shard
// SO_REUSEPORT picks next time.
// Invariants: TLS 1.2 and 1.3 only, forward-secret AEAD suites only, the crypto device attached.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "crypto/secret_bytes.h"

struct WOLFSSL_CTX;

namespace vmx::net {

inline constexpr std::size_t tls_sni_names_max = 1024;        // per-domain certificates per listener
inline constexpr std::size_t tls_server_name_bytes_max = 253;  // RFC 1035, without the final dot
inline constexpr std::uint32_t tls_ticket_lifetime_s_max = 86400;  // RFC 8446 allows 7 days; a day is plenty

struct TlsCertificatePaths {
    std::string chain_path;  // PEM: the leaf first, then its intermediates
    std::string key_path;    // PEM private key matching the leaf
};

// A certificate held in memory (ACME's, whose key is opened from the sealed store, never a file).
struct TlsCertificatePem {
    std::string chain_pem;      // the leaf first, then its intermediates
    crypto::SecretBytes key_pem;
};
using TlsPemPtr = std::shared_ptr<const TlsCertificatePem>;

struct TlsServerOptions {
    TlsCertificatePaths certificate;                    // used when SNI names nothing configured
    TlsPemPtr certificate_pem;                          // when set, the default instead of `certificate`
    std::map<std::string, TlsCertificatePaths> sni;     // lower-case host name -> its certificate
    std::map<std::string, TlsPemPtr> sni_pem;           // the same, from memory (a name in both: this one)
    // Resumption is by tickets only (RFC 5077 for TLS 1.2, PSK tickets for TLS 1.3): stateless, so
    // no cache to size, lock or share between shards. wolfSSL's session-id cache is off: it is
    // process-wide and does not honour the session-id context, so a session from one listener
    // would resume on another.
    bool session_tickets = true;
    std::uint32_t ticket_lifetime_s = 3600;             // how long a client may resume with a ticket,
                                                        // 1 to tls_ticket_lifetime_s_max
};

// The forward-secret AEAD suites we offer and accept, in wolfSSL's spelling, AES-256-GCM first (the
// hardware path), then AES-128-GCM and ChaCha20-Poly1305 for clients without AES instructions.
extern const char* const tls_cipher_list;

struct WolfCtxDeleter {
    void operator()(WOLFSSL_CTX* ctx) const noexcept;
};
using WolfCtxPtr = std::unique_ptr<WOLFSSL_CTX, WolfCtxDeleter>;

class TlsServerContext {
public:
    // Loads and checks every certificate and key. On failure the error is a NetErrc
    // (tls_certificate_invalid, tls_key_invalid, tls_key_mismatch, tls_setup_failed) and `detail`
    // holds one line naming the file and what wolfSSL said.
    static Result<std::shared_ptr<const TlsServerContext>> create(const TlsServerOptions& options, std::string& detail);

    ~TlsServerContext();
    TlsServerContext(const TlsServerContext&) = delete;
    TlsServerContext& operator=(const TlsServerContext&) = delete;

    WOLFSSL_CTX* raw() const noexcept { return default_.get(); }
    // Session tickets: sealed with AES-256-GCM under a key made when the context is built, so a
    // ticket issued by one shard resumes on any other (and under any SNI name of this context).
    struct TicketKey;
    // The context for a requested server name (SNI), or null when none is configured for it.
    WOLFSSL_CTX* for_server_name(const char* name) const noexcept;
    std::size_t sni_names() const noexcept { return by_name_.size(); }
    // When the default certificate expires (unix seconds; 0 if it could not be read).
    std::int64_t not_after_unix() const noexcept { return not_after_unix_; }

private:
    TlsServerContext() = default;
    std::unique_ptr<TicketKey> ticket_key_;  // declared first: the wolfSSL contexts point at it
    WolfCtxPtr default_;
    std::map<std::string, WolfCtxPtr, std::less<>> by_name_;
    std::int64_t not_after_unix_ = 0;
};

// The notAfter of the first certificate in a PEM file (unix seconds), 0 when it cannot be read.
std::int64_t certificate_not_after(const std::string& pem_path);
// The same for PEM text in memory.
std::int64_t certificate_not_after_pem(std::string_view pem);

enum class TlsVerify : std::uint8_t {
    none,          // opportunistic: encrypt, accept any certificate (SMTP MX delivery's default)
    peer,          // the certificate must chain to a trust anchor and match the server name
};

enum class TlsVersionMax : std::uint8_t { tls13, tls12 };

struct TlsClientOptions {
    TlsVerify verify = TlsVerify::none;
    TlsVersionMax version_max = TlsVersionMax::tls13;  // tls12: for a peer whose TLS 1.3 is broken
    std::string ca_file;               // trust anchors (PEM); empty: the system's CA store
    bool session_resumption = true;    // the caller may keep a session and offer it again
    // A certificate to present when the server asks (mutual TLS, e.g. to a log collector); empty
    // paths: none.
    TlsCertificatePaths certificate;
};

class TlsClientContext {
public:
    static Result<std::shared_ptr<const TlsClientContext>> create(const TlsClientOptions& options, std::string& detail);
    ~TlsClientContext();
    TlsClientContext(const TlsClientContext&) = delete;
    TlsClientContext& operator=(const TlsClientContext&) = delete;

    WOLFSSL_CTX* raw() const noexcept { return ctx_.get(); }
    TlsVerify verify() const noexcept { return verify_; }

private:
    TlsClientContext() = default;
    WolfCtxPtr ctx_;
    TlsVerify verify_ = TlsVerify::none;
};

}  // namespace vmx::net
