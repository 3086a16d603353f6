// TlsSession over wolfSSL's memory I/O callbacks: the receive callback reads the ciphertext of the
// current feed() and answers WANT_READ when it runs out; the send callback appends to out_. No call
// here blocks, and every wolfSSL call's output is left in out_ for the caller to send.
#include "net/tls/tls_session.h"

// options.h first: it fixes the build configuration (and struct layouts) the other headers follow.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <algorithm>
#include <cstring>

#include "net/errc.h"

namespace vmx::net {
namespace {

// A released out_ above this capacity is freed, so an idle session keeps no bulk buffer.
constexpr std::size_t out_capacity_kept_max = 4096;

bool would_block(int err) { return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE; }

// Debian's wolfSSL (FP_ECC) keeps per-thread tables of precomputed ECC points, freed only when that
// thread asks: every thread that runs handshakes releases its tables when it ends.
struct EccTablesRelease {
    ~EccTablesRelease() { wc_ecc_fp_free(); }
};

void release_ecc_tables_at_thread_exit() {
    thread_local EccTablesRelease release;
    (void)&release;
}

}  // namespace

void TlsSession::SslFree::operator()(WOLFSSL* ssl) const noexcept { wolfSSL_free(ssl); }

Result<std::unique_ptr<TlsSession>> TlsSession::accept(const TlsServerContext& context) {
    release_ecc_tables_at_thread_exit();
    std::unique_ptr<TlsSession> s(new TlsSession());
    if (auto r = s->init(wolfSSL_new(context.raw())); !r) return fail(r.error());
    return s;
}

Result<std::unique_ptr<TlsSession>> TlsSession::connect(const TlsClientContext& context, std::string_view server_name,
                                                        WOLFSSL_SESSION* resume) {
    release_ecc_tables_at_thread_exit();
    std::unique_ptr<TlsSession> s(new TlsSession());
    s->client_ = true;
    if (auto r = s->init(wolfSSL_new(context.raw())); !r) return fail(r.error());
    WOLFSSL* ssl = s->ssl_.get();
    if (!server_name.empty()) {
        if (server_name.size() > tls_server_name_bytes_max) return fail(NetErrc::tls_setup_failed);
        const std::string name(server_name);
        if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, name.data(), static_cast<unsigned short>(name.size())) !=
            WOLFSSL_SUCCESS)
            return fail(NetErrc::tls_setup_failed);
        if (context.verify() == TlsVerify::peer && wolfSSL_check_domain_name(ssl, name.c_str()) != WOLFSSL_SUCCESS)
            return fail(NetErrc::tls_setup_failed);
    }
    if (resume != nullptr) (void)wolfSSL_set_session(ssl, resume);  // a stale session just means a full handshake
    // The client speaks first: its ClientHello is in outgoing() before any feed().
    if (auto r = s->step_handshake(); !r) return fail(r.error());
    return s;
}

Result<void> TlsSession::init(WOLFSSL* ssl) {
    ssl_.reset(ssl);
    if (!ssl_) return fail(NetErrc::tls_setup_failed);
    wolfSSL_SSLSetIORecv(ssl, on_recv);
    wolfSSL_SSLSetIOSend(ssl, on_send);
    wolfSSL_SetIOReadCtx(ssl, this);
    wolfSSL_SetIOWriteCtx(ssl, this);
    return {};
}

TlsSession::~TlsSession() = default;

int TlsSession::on_recv(WOLFSSL*, char* buf, int size, void* ctx) {
    auto& self = *static_cast<TlsSession*>(ctx);
    if (self.in_.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
    const std::size_t n = std::min(self.in_.size(), static_cast<std::size_t>(size));
    std::memcpy(buf, self.in_.data(), n);
    self.in_.remove_prefix(n);
    return static_cast<int>(n);
}

int TlsSession::on_send(WOLFSSL*, char* buf, int size, void* ctx) {
    static_cast<TlsSession*>(ctx)->out_.append(buf, static_cast<std::size_t>(size));
    return size;
}

void TlsSession::clear_outgoing() noexcept {
    if (out_.capacity() > out_capacity_kept_max) {
        std::string().swap(out_);
    } else {
        out_.clear();
    }
}

Unexpected<std::error_code> TlsSession::fail_session(int ret) {
    wolf_error_ = wolfSSL_get_error(ssl_.get(), ret);
    // The detailed reason sits in the thread's error queue (wolfSSL_get_error gives OpenSSL's
    // coarse SSL_ERROR_SSL here): keep the last one and leave the queue empty for the next session.
    for (unsigned long e = wolfSSL_ERR_get_error(); e != 0; e = wolfSSL_ERR_get_error())
        wolf_error_ = -static_cast<int>(e);
    const bool during_handshake = state_ == TlsState::handshaking;
    state_ = TlsState::failed;
    return fail(during_handshake ? NetErrc::tls_handshake_failed : NetErrc::tls_protocol);
}

Result<void> TlsSession::step_handshake() {
    const int ret = client_ ? wolfSSL_connect(ssl_.get()) : wolfSSL_accept(ssl_.get());
    if (ret == WOLFSSL_SUCCESS) {
        state_ = TlsState::open;
        return {};
    }
    if (would_block(wolfSSL_get_error(ssl_.get(), ret))) return {};
    return fail_session(ret);
}

Result<void> TlsSession::feed(std::string_view ciphertext, std::string& plain) {
    if (state_ == TlsState::failed) return fail(NetErrc::tls_protocol);
    if (state_ == TlsState::peer_closed) return {};  // after close_notify nothing counts
    in_ = ciphertext;
    Result<void> r;
    if (state_ == TlsState::handshaking) r = step_handshake();
    // Application data may follow the peer's Finished in the same bytes: read it in this call.
    if (r && state_ == TlsState::open) r = read_records(plain);
    in_ = {};
    return r;
}

// wolfSSL_read returns one record at a time: loop until it wants more bytes.
Result<void> TlsSession::read_records(std::string& plain) {
    for (;;) {
        const std::size_t had = plain.size();
        plain.resize(had + tls_record_plain_bytes_max);
        const int ret = wolfSSL_read(ssl_.get(), plain.data() + had, static_cast<int>(tls_record_plain_bytes_max));
        plain.resize(had + static_cast<std::size_t>(std::max(ret, 0)));
        if (ret > 0) continue;
        const int err = wolfSSL_get_error(ssl_.get(), ret);
        if (would_block(err)) return {};
        if (err == WOLFSSL_ERROR_ZERO_RETURN) {
            state_ = TlsState::peer_closed;
            return {};
        }
        return fail_session(ret);
    }
}

Result<void> TlsSession::write(std::string_view plain) {
    if (state_ == TlsState::failed) return fail(NetErrc::tls_protocol);
    if (state_ != TlsState::open || shutdown_sent_) return fail(NetErrc::tls_not_ready);
    while (!plain.empty()) {
        const auto n = static_cast<int>(std::min(plain.size(), tls_record_plain_bytes_max));
        const int ret = wolfSSL_write(ssl_.get(), plain.data(), n);
        if (ret <= 0) return fail_session(ret);  // the send callback never blocks: any <= 0 is an error
        plain.remove_prefix(static_cast<std::size_t>(ret));
    }
    return {};
}

void TlsSession::shutdown() {
    if (shutdown_sent_ || state_ == TlsState::failed || state_ == TlsState::handshaking) return;
    shutdown_sent_ = true;
    (void)wolfSSL_shutdown(ssl_.get());  // sends close_notify; we do not wait for the peer's
}

TlsInfo TlsSession::info() const {
    TlsInfo info;
    if (!handshake_done()) return info;
    WOLFSSL* ssl = ssl_.get();
    info.version = wolfSSL_get_version(ssl);
    const int suite = wolfSSL_get_current_cipher_suite(ssl);
    const auto suite0 = static_cast<unsigned char>((suite >> 8) & 0xff);
    const auto suite1 = static_cast<unsigned char>(suite & 0xff);
    if (const char* iana = wolfSSL_get_cipher_name_iana_from_suite(suite0, suite1)) info.cipher_iana = iana;
    // OpenSSL names TLS 1.3 suites by their IANA names and TLS 1.2 ones as wolfSSL does.
    const bool tls13 = info.version == "TLSv1.3";
    if (const char* name = wolfSSL_get_cipher_name(ssl)) info.cipher = tls13 ? info.cipher_iana : std::string(name);
    int alg_bits = 0;
    info.cipher_bits = wolfSSL_CIPHER_get_bits(wolfSSL_get_current_cipher(ssl), &alg_bits);
    if (!client_) {
        if (const char* sni = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME)) info.server_name = sni;
    }
    info.resumed = wolfSSL_session_reused(ssl) == 1;
    return info;
}

WOLFSSL_SESSION* TlsSession::take_resumable_session() const { return wolfSSL_get1_session(ssl_.get()); }

}  // namespace vmx::net
