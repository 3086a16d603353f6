// A wolfSSL client on a blocking socket (wolfSSL's own socket I/O), for tests that drive a TLS
// listener as a real client would. One thread only.
#pragma once

#include <wolfssl/options.h>  // first: it fixes the layout of the other wolfSSL headers
#include <wolfssl/ssl.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "net/tls/tls_context.h"

namespace vmx::net::test {

// A wolfSSL client on a blocking socket (wolfSSL's own socket I/O).
class TlsClient {
public:
    TlsClient(int fd, const TlsClientContext& ctx, const char* sni = "localhost") : fd_(fd) {
        ssl_ = wolfSSL_new(ctx.raw());
        wolfSSL_set_fd(ssl_, fd_);
        wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, sni, static_cast<unsigned short>(std::strlen(sni)));
        wolfSSL_check_domain_name(ssl_, sni);
    }
    ~TlsClient() {
        wolfSSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
    }
    bool handshake() { return wolfSSL_connect(ssl_) == WOLFSSL_SUCCESS; }
    bool write(std::string_view data) {
        while (!data.empty()) {
            const int n = wolfSSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 65536)));
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // Reads until `n` bytes arrived or the stream ends; fn sees each piece.
    template <class Fn>
    std::size_t read(std::size_t n, Fn&& fn) {
        std::size_t got = 0;
        std::string buf(16384, '\0');
        while (got < n) {
            const int r = wolfSSL_read(ssl_, buf.data(), static_cast<int>(std::min(buf.size(), n - got)));
            if (r <= 0) break;
            fn(std::string_view(buf.data(), static_cast<std::size_t>(r)));
            got += static_cast<std::size_t>(r);
        }
        return got;
    }
    std::string read_exact(std::size_t n) {
        std::string out;
        read(n, [&](std::string_view piece) { out.append(piece); });
        return out;
    }
    // Reads up to and including `end` (a line: "\r\n"; a POP3 multi-line answer: "\r\n.\r\n"), or
    // what came before the stream ended.
    std::string read_until(std::string_view end) {
        std::string out;
        char c;
        while (!out.ends_with(end) && wolfSSL_read(ssl_, &c, 1) == 1) out += c;
        return out;
    }
    // True when the server ends the session (close_notify or the socket closing).
    bool ended() {
        char c;
        return wolfSSL_read(ssl_, &c, 1) <= 0;
    }
    WOLFSSL* ssl() { return ssl_; }

private:
    int fd_;
    WOLFSSL* ssl_;
};

}  // namespace vmx::net::test
