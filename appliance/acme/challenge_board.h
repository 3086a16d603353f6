// The HTTP-01 challenges being answered right now (RFC 8555 8.3): token -> key authorization.
// Threads: the order thread puts and removes; the control thread reads, answering the portal's
// redirect listener (which serves /.well-known/acme-challenge/TOKEN). A mutex guards the map; it
// is touched a few times per certificate order, never on a mail path. Nothing in it is secret: the
// CA fetches these values over plain HTTP.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace vmx {

inline constexpr std::size_t acme_tokens_max = 256;  // pending challenges at once (100 names per order)

class ChallengeBoard {
public:
    // False when the board is full or the token is not base64url (RFC 8555 8.3: a token is only
    // ever base64url characters, so it is safe in a path and a log field).
    bool put(std::string token, std::string key_authorization);
    void remove(std::string_view token);
    std::optional<std::string> find(std::string_view token) const;
    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::string, std::less<>> answers_;
};

bool valid_acme_token(std::string_view token) noexcept;

}  // namespace vmx
