// LoginThrottle: failed logins slowed and counted per user and per client address, for POP3 (and any
// later password protocol). Owned by AuthWorkers and touched only by its threads (never a shard's),
// under a short lock per attempt; one throttle for all shards, so a brute force that SO_REUSEPORT
// spreads over the shards is still counted once. Invariants: at most entries_max users and entries_max addresses are
// remembered (expired entries go first, then the oldest); a user is never refused outright, only
// slowed, so an attack from one address cannot lock the real user out from elsewhere.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vmx {

struct LoginThrottleOptions {
    std::uint32_t window_s = 900;                 // failures older than this are forgotten
    std::uint32_t address_free_failures = 5;      // failures from one address before it is slowed
    std::uint32_t address_refuse_failures = 30;   // past this, the address is refused until the window ends
    std::uint32_t user_free_failures = 10;        // failures on one user (any address) before it is slowed
    std::uint64_t delay_base_ms = 500;            // first delay; doubles with each further failure
    std::uint64_t delay_max_ms = 8000;
    std::size_t entries_max = 100'000;            // per map (users, addresses)
};

struct ThrottleDecision {
    bool refused = false;        // too many failures from this address: do not even check
    std::uint64_t delay_ms = 0;  // slow the answer to a failed attempt by this much
};

class LoginThrottle {
public:
    explicit LoginThrottle(LoginThrottleOptions options = {}) : options_(options) {}

    // Before checking the credentials: is this address refused? user is the lower-cased login name.
    ThrottleDecision check(std::string_view user, std::string_view address, std::int64_t now_s);
    // After a failure: counts it and returns how long to hold the failure's answer.
    ThrottleDecision failed(std::string_view user, std::string_view address, std::int64_t now_s);
    // After a success: the user's count starts over (the address's does not: one valid account must
    // not let an attacker reset the count of the address it guesses others from).
    void succeeded(std::string_view user);

    std::size_t users_tracked() const;
    std::size_t addresses_tracked() const;

private:
    struct Count {
        std::uint32_t failures = 0;
        std::int64_t first_s = 0;  // start of the current window
    };
    using Map = std::unordered_map<std::string, Count>;

    Count current(const Map& map, std::string_view key, std::int64_t now_s) const;
    void bump(Map& map, std::string_view key, std::int64_t now_s);
    void make_room(Map& map, std::int64_t now_s);
    std::uint64_t delay_for(std::uint32_t failures, std::uint32_t free) const noexcept;
    ThrottleDecision decide(const Count& user, const Count& address) const noexcept;

    const LoginThrottleOptions options_;
    mutable std::mutex mutex_;
    Map users_;
    Map addresses_;
};

}  // namespace vmx
