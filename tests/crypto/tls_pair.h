// Test helper: a TLS client and server in one thread, joined by two in-memory byte pipes instead of
// sockets (wolfSSL's I/O callbacks read and write std::strings). One thread only. Invariants: a
// pipe's unread bytes are wire[read_at..]; the receive callback answers WANT_READ when they run out
// (CONN_CLOSE once the writer closed), so every step returns instead of blocking.
#pragma once

// options.h first: it fixes the build configuration (and struct layouts) the other headers follow.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "core/c_free.h"
#include "crypto/tls_crypto_device.h"

#ifndef VMX_TEST_DATA_DIR
#error "VMX_TEST_DATA_DIR must name tests/data (see tests/crypto/tls.cmake)"
#endif

namespace vmx::test {

using SslCtxPtr = std::unique_ptr<WOLFSSL_CTX, CFree<wolfSSL_CTX_free>>;
using SslPtr = std::unique_ptr<WOLFSSL, CFree<wolfSSL_free>>;

enum class TlsVersion { tls12, tls13 };
enum class Device { software, ours };  // ours: crypto/tls_crypto_device.h

struct TlsPairOptions {
    TlsVersion version = TlsVersion::tls13;
    const char* cipher_list = nullptr;  // wolfSSL names, e.g. "TLS13-AES256-GCM-SHA384"; null: default
    Device client_device = Device::ours;
    Device server_device = Device::ours;
};

// One direction of the connection. `closed` makes an empty pipe read as end of stream.
struct Pipe {
    std::string wire;
    std::size_t read_at = 0;
    bool closed = false;

    std::size_t unread() const { return wire.size() - read_at; }
};

inline int pipe_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
    auto& pipe = *static_cast<Pipe*>(ctx);
    if (pipe.unread() == 0) return pipe.closed ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
    const std::size_t n = std::min(pipe.unread(), static_cast<std::size_t>(sz));
    std::memcpy(buf, pipe.wire.data() + pipe.read_at, n);
    pipe.read_at += n;
    if (pipe.read_at == pipe.wire.size()) {  // drained: reuse the storage instead of growing
        pipe.wire.clear();
        pipe.read_at = 0;
    }
    return static_cast<int>(n);
}

inline int pipe_send(WOLFSSL*, char* buf, int sz, void* ctx) {
    auto& pipe = *static_cast<Pipe*>(ctx);
    if (pipe.closed) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
    pipe.wire.append(buf, static_cast<std::size_t>(sz));
    return sz;
}

// A wolfSSL call "would block" when it returns <= 0 with WANT_READ/WANT_WRITE.
inline bool would_block(WOLFSSL* ssl, int ret) {
    const int err = wolfSSL_get_error(ssl, ret);
    return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE;
}

class TlsPair {
public:
    static constexpr std::size_t write_bytes_max = 16 * 1024;  // one TLS record's plaintext

    // Sets both ends up; ok() says whether that worked and error() what failed.
    explicit TlsPair(const TlsPairOptions& options) {
        wolfSSL_Init();  // reference-counted; released in the destructor
        client_ctx_ = make_ctx(options, Side::client);
        server_ctx_ = make_ctx(options, Side::server);
        if (!client_ctx_ || !server_ctx_) return;
        client_ = connect(client_ctx_.get(), to_client_, to_server_);
        server_ = connect(server_ctx_.get(), to_server_, to_client_);
        if (!client_ || !server_) {
            fail("wolfSSL_new");
        } else if (wolfSSL_check_domain_name(client_.get(), "localhost") != WOLFSSL_SUCCESS) {
            fail("wolfSSL_check_domain_name");
        }
    }
    ~TlsPair() {
        client_.reset();
        server_.reset();
        client_ctx_.reset();
        server_ctx_.reset();
        wolfSSL_Cleanup();
    }
    TlsPair(const TlsPair&) = delete;
    TlsPair& operator=(const TlsPair&) = delete;

    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    WOLFSSL* client() { return client_.get(); }
    WOLFSSL* server() { return server_.get(); }
    Pipe& to_client() { return to_client_; }  // server -> client bytes, for tampering
    Pipe& to_server() { return to_server_; }

    // Alternates connect and accept until both are done (true) or one fails (false, error()).
    bool handshake() {
        bool client_done = false;
        bool server_done = false;
        for (int round = 0; round < 64 && ok() && !(client_done && server_done); ++round) {
            if (!client_done) client_done = step(client(), wolfSSL_connect(client()), "wolfSSL_connect");
            if (!server_done) server_done = step(server(), wolfSSL_accept(server()), "wolfSSL_accept");
        }
        if (ok() && !(client_done && server_done)) fail("handshake did not finish in 64 rounds");
        return ok();
    }

    // Writes all of `data` from `from` in writes of at most 16 KiB (one record each).
    bool write(WOLFSSL* from, std::string_view data) {
        while (!data.empty() && ok()) {
            const auto n = static_cast<int>(std::min(data.size(), write_bytes_max));
            const int ret = wolfSSL_write(from, data.data(), n);
            if (ret <= 0) return fail("wolfSSL_write", from, ret);
            data.remove_prefix(static_cast<std::size_t>(ret));
        }
        return ok();
    }

    // Reads into `out` until the pipe is empty (wolfSSL_read gives one record at a time). False on a
    // read error (a tampered record, an alert); error() then names it.
    bool read_available(WOLFSSL* to, std::string& out) {
        char buf[write_bytes_max];
        for (;;) {
            const int ret = wolfSSL_read(to, buf, sizeof buf);
            if (ret > 0) {
                out.append(buf, static_cast<std::size_t>(ret));
                continue;
            }
            if (would_block(to, ret)) return true;
            return fail("wolfSSL_read", to, ret);
        }
    }

    // Sends `data` from one end and reads it at the other, record by record, so the pipe stays small.
    bool transfer(WOLFSSL* from, WOLFSSL* to, std::string_view data, std::string& received) {
        while (!data.empty() && ok()) {
            const std::size_t n = std::min(data.size(), write_bytes_max);
            if (!write(from, data.substr(0, n)) || !read_available(to, received)) return false;
            data.remove_prefix(n);
        }
        return ok();
    }

private:
    enum class Side { client, server };

    SslCtxPtr make_ctx(const TlsPairOptions& o, Side side) {
        const bool tls13 = o.version == TlsVersion::tls13;
        WOLFSSL_METHOD* method = side == Side::client ? (tls13 ? wolfTLSv1_3_client_method() : wolfTLSv1_2_client_method())
                                                      : (tls13 ? wolfTLSv1_3_server_method() : wolfTLSv1_2_server_method());
        SslCtxPtr ctx(wolfSSL_CTX_new(method));
        if (!ctx) return fail_ctx("wolfSSL_CTX_new");
        const std::string dir = VMX_TEST_DATA_DIR "/tls/";
        if (side == Side::server) {
            if (wolfSSL_CTX_use_certificate_file(ctx.get(), (dir + "test-cert.pem").c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
                wolfSSL_CTX_use_PrivateKey_file(ctx.get(), (dir + "test-key.pem").c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
                return fail_ctx("server certificate or key");
            }
        } else {
            // The self-signed test certificate (CA:TRUE) is its own trust anchor; the peer is verified.
            if (wolfSSL_CTX_load_verify_locations(ctx.get(), (dir + "test-cert.pem").c_str(), nullptr) != WOLFSSL_SUCCESS) {
                return fail_ctx("client trust anchor");
            }
            wolfSSL_CTX_set_verify(ctx.get(), WOLFSSL_VERIFY_PEER, nullptr);
        }
        if (o.cipher_list != nullptr && wolfSSL_CTX_set_cipher_list(ctx.get(), o.cipher_list) != WOLFSSL_SUCCESS) {
            return fail_ctx("wolfSSL_CTX_set_cipher_list");
        }
        const Device device = side == Side::client ? o.client_device : o.server_device;
        if (device == Device::ours && !crypto::use_tls_crypto_device(ctx.get())) return fail_ctx("use_tls_crypto_device");
        wolfSSL_SetIORecv(ctx.get(), pipe_recv);
        wolfSSL_SetIOSend(ctx.get(), pipe_send);
        return ctx;
    }

    static SslPtr connect(WOLFSSL_CTX* ctx, Pipe& in, Pipe& out) {
        SslPtr ssl(wolfSSL_new(ctx));
        if (!ssl) return ssl;
        wolfSSL_SSLSetIORecv(ssl.get(), pipe_recv);
        wolfSSL_SSLSetIOSend(ssl.get(), pipe_send);
        wolfSSL_SetIOReadCtx(ssl.get(), &in);
        wolfSSL_SetIOWriteCtx(ssl.get(), &out);
        return ssl;
    }

    // True when the handshake call finished; false when it waits for the peer or failed (error()).
    bool step(WOLFSSL* ssl, int ret, const char* what) {
        if (ret == WOLFSSL_SUCCESS) return true;
        if (!would_block(ssl, ret)) fail(what, ssl, ret);
        return false;
    }

    bool fail(const char* what) {
        if (error_.empty()) error_ = what;
        return false;
    }
    bool fail(const char* what, WOLFSSL* ssl, int ret) {
        const int err = wolfSSL_get_error(ssl, ret);
        char text[WOLFSSL_MAX_ERROR_SZ] = {};
        wolfSSL_ERR_error_string_n(static_cast<unsigned long>(err), text, sizeof text);
        return fail((std::string(what) + ": " + std::to_string(err) + " " + text).c_str());
    }
    SslCtxPtr fail_ctx(const char* what) {
        fail(what);
        return nullptr;
    }

    // Declared before the WOLFSSL objects that point at them, so they outlive those objects.
    Pipe to_server_;
    Pipe to_client_;
    std::string error_;
    SslCtxPtr client_ctx_;
    SslCtxPtr server_ctx_;
    SslPtr client_;
    SslPtr server_;
};

}  // namespace vmx::test
