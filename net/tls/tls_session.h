// TlsSession: one TLS connection as a pure filter, no socket: feed() takes the peer's ciphertext and
// yields plaintext, write() takes plaintext and queues ciphertext in outgoing() for the caller to
// send. Owned by one connection, touched by its shard thread only.
// Invariants: feed() consumes all it is given (wolfSSL keeps at most one partial record), plaintext
// out is at most the ciphertext in plus one record, outgoing() holds only what the last call
// produced until the caller takes it; after an error the session refuses further use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/tls/tls_context.h"

struct WOLFSSL;
struct WOLFSSL_SESSION;

namespace vmx::net {

inline constexpr std::size_t tls_record_plain_bytes_max = 16384;
// Worst-case bytes a record adds: 5 header + 8 explicit nonce (TLS 1.2) + 16 tag + 1 type (TLS 1.3).
inline constexpr std::size_t tls_record_overhead_bytes_max = 32;

// The ciphertext size write(plain) may produce, at most.
constexpr std::size_t tls_ciphertext_bytes_max(std::size_t plain_bytes) {
    return plain_bytes + (plain_bytes / tls_record_plain_bytes_max + 1) * tls_record_overhead_bytes_max;
}

struct TlsInfo {
    std::string version;      // "TLSv1.3", "TLSv1.2"
    std::string cipher;       // OpenSSL's name, as Postfix logs it: "TLS_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"
    std::string cipher_iana;  // "TLS_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
    int cipher_bits = 0;      // symmetric key bits: 256, 128
    std::string server_name;  // SNI the client asked for; empty when none
    bool resumed = false;     // the handshake resumed an earlier session
};

enum class TlsState : std::uint8_t {
    handshaking,
    open,          // handshake done: data both ways
    peer_closed,   // the peer sent close_notify (or closed the transport); nothing more will come
    failed,        // an error; the session refuses further use
};

class TlsSession {
public:
    static Result<std::unique_ptr<TlsSession>> accept(const TlsServerContext& context);
    // server_name: sent as SNI and, when the context verifies, checked against the certificate.
    // resume: a session from an earlier connection to the same server (may be null).
    static Result<std::unique_ptr<TlsSession>> connect(const TlsClientContext& context, std::string_view server_name,
                                                       WOLFSSL_SESSION* resume = nullptr);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // The peer's bytes. Advances the handshake, appends decrypted application data to `plain`.
    // Errors: tls_handshake_failed (before open), tls_protocol (after). A close_notify is not an
    // error: state() becomes peer_closed.
    Result<void> feed(std::string_view ciphertext, std::string& plain);
    // Encrypts plain into outgoing(); only once state() is open (else tls_not_ready).
    Result<void> write(std::string_view plain);
    // Queues close_notify (once). The transport may be closed after sending outgoing().
    void shutdown();

    // Ciphertext waiting to be sent; the caller sends it, then calls clear_outgoing().
    std::string_view outgoing() const noexcept { return out_; }
    void clear_outgoing() noexcept;

    TlsState state() const noexcept { return state_; }
    bool handshake_done() const noexcept { return state_ == TlsState::open || state_ == TlsState::peer_closed; }
    // Valid once the handshake is done.
    TlsInfo info() const;
    // The wolfSSL error of the failure, for logs ("-313 received alert fatal error").
    int wolf_error() const noexcept { return wolf_error_; }
    // For a client: a session to resume later (owned by the caller: wolfSSL_SESSION_free).
    WOLFSSL_SESSION* take_resumable_session() const;
    // Bytes of our own buffers (wolfSSL's allocations are not counted here).
    std::size_t buffer_bytes() const noexcept { return out_.capacity(); }

private:
    TlsSession() = default;
    Result<void> init(WOLFSSL* ssl);
    Result<void> step_handshake();
    Result<void> read_records(std::string& plain);
    static int on_recv(WOLFSSL* ssl, char* buf, int size, void* ctx);
    static int on_send(WOLFSSL* ssl, char* buf, int size, void* ctx);
    Unexpected<std::error_code> fail_session(int ret);

    struct SslFree {
        void operator()(WOLFSSL* ssl) const noexcept;
    };
    std::unique_ptr<WOLFSSL, SslFree> ssl_;
    std::string_view in_;       // the ciphertext of the current feed(); empty outside it
    std::string out_;           // ciphertext produced, not yet taken
    int wolf_error_ = 0;
    TlsState state_ = TlsState::handshaking;
    bool client_ = false;
    bool shutdown_sent_ = false;
};

}  // namespace vmx::net
