// One certificate order against an ACME CA (RFC 8555), start to finish: the directory, a nonce,
// the account (made or found by its key, 7.3), the order (7.4), each authorization's HTTP-01
// challenge (8.3) published on the ChallengeBoard while the CA checks it, the CSR under a fresh
// P-256 key, then the chain. Blocking, on the order thread only (AcmeSchedule).
// Failure policy: every answer is checked (status, JSON shape, URLs https only); a badNonce
// (6.5) is retried with the nonce it carried, a few times; polling honours Retry-After within a
// cap and the order's deadline; any other problem ends the order with last_error() naming the
// step and the CA's problem type and detail (never a key). The board is always cleared of this
// order's tokens on the way out.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "appliance/acme/challenge_board.h"
#include "appliance/acme/https_fetch.h"
#include "core/result.h"
#include "crypto/acme/acme_key.h"
#include "crypto/secret_bytes.h"

namespace vmx {

struct AcmeClientOptions {
    std::string directory_url;       // https://…/directory
    std::string email;               // the account's contact; empty: none
    std::uint32_t poll_ms = 1000;    // between looks at a pending authorization or order
    std::uint32_t deadline_s = 300;  // the whole order
};

struct AcmeIssued {
    std::vector<std::string> names;
    crypto::SecretBytes key_pem;  // the certificate's private key
    std::string chain_pem;        // leaf first, then the intermediates the CA sent
};

class AcmeClient {
public:
    AcmeClient(HttpsTransport& http, ChallengeBoard& board, const crypto::AcmeKey& account, AcmeClientOptions options,
               const std::atomic<bool>& stopping)
        : http_(http), board_(board), account_(account), options_(std::move(options)), stopping_(stopping) {}

    Result<AcmeIssued> order(const std::vector<std::string>& names);
    const std::string& last_error() const noexcept { return error_; }

private:
    struct Directory {
        std::string new_nonce, new_account, new_order;
    };
    Result<void> load_directory();
    Result<HttpsReply> signed_post(const std::string& url, const std::string& payload);
    Result<void> account();
    Result<void> authorize(const std::string& authz_url, std::vector<std::string>& tokens);
    Result<std::string> poll(const std::string& url, std::string_view what, std::string_view until);
    bool wait(std::uint64_t ms) const;
    Unexpected<std::error_code> problem(std::string_view step, const HttpsReply& reply);
    Unexpected<std::error_code> failed(std::string text, std::errc code = std::errc::protocol_error);

    HttpsTransport& http_;
    ChallengeBoard& board_;
    const crypto::AcmeKey& account_;
    AcmeClientOptions options_;
    const std::atomic<bool>& stopping_;
    Directory dir_;
    std::string nonce_;
    std::string kid_;
    std::int64_t deadline_ms_ = 0;
    std::string error_;
};

}  // namespace vmx
