// HTTPS requests for the ACME client, over libcurl (GnuTLS flavour: the OpenSSL one would bring
// libssl, whose SSL_* symbols clash with wolfSSL's). Blocking: used only on the order thread, never
// on a shard or the control loop. Only https:// URLs are followed; bodies are bounded; every request
// has a timeout. The interface lets the order flow be played against recorded answers in tests.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vmx {

inline constexpr std::size_t acme_reply_bytes_max = std::size_t{1} << 20;  // a directory, order or chain

struct HttpsReply {
    long status = 0;
    std::string body;
    std::string content_type;
    std::string location;
    std::string replay_nonce;
    std::int64_t retry_after_s = 0;  // Retry-After in seconds; 0: none or a date
};

class HttpsTransport {
public:
    virtual ~HttpsTransport() = default;
    virtual Result<HttpsReply> get(const std::string& url) = 0;
    virtual Result<HttpsReply> head(const std::string& url) = 0;
    // Content-Type: application/jose+json (RFC 8555 6.2).
    virtual Result<HttpsReply> post_jose(const std::string& url, std::string_view body) = 0;
};

struct HttpsOptions {
    std::string ca_file;            // trust anchors (PEM); empty: the system's store
    std::uint32_t timeout_ms = 30000;
    std::string user_agent = "vaultmx-acme";
    const std::atomic<bool>* stopping = nullptr;  // when it turns true, a request in flight is abandoned
};

// Call once on the main thread before any thread uses libcurl (curl_global_init is not thread-safe
// before libcurl 7.84 on every build).
void https_global_init();

// The libcurl transport: one easy handle, reused (connections kept alive to the CA). Errors carry
// std::errc::io_error with curl's message in `detail()`.
class CurlTransport final : public HttpsTransport {
public:
    explicit CurlTransport(HttpsOptions options);
    ~CurlTransport() override;
    CurlTransport(const CurlTransport&) = delete;
    CurlTransport& operator=(const CurlTransport&) = delete;

    Result<HttpsReply> get(const std::string& url) override;
    Result<HttpsReply> head(const std::string& url) override;
    Result<HttpsReply> post_jose(const std::string& url, std::string_view body) override;
    const std::string& last_error() const noexcept { return last_error_; }

private:
    enum class Method { get, head, post };
    Result<HttpsReply> perform(Method method, const std::string& url, std::string_view body);
    struct Handle;
    HttpsOptions options_;
    std::unique_ptr<Handle> handle_;
    std::string last_error_;
};

}  // namespace vmx
