// VerifiedLogins: the secrets Argon2id accepted lately, so that a mail client that polls with the
// same password costs an HMAC instead of an Argon2id run. An entry is HMAC-SHA256, under a key drawn
// at each start and held in secret memory, of (lower-cased login name, the stored PHC string that
// matched, its method, the secret): it hits only for that very secret against that very stored hash,
// so a changed password or a revoked app password never hits, even before forget() drops it.
// Threads: find, remember and failed on the auth workers; forget from the control thread (admin
// commands); one short lock each, the MACs computed outside it. Invariants: at most entries_max
// entries (the oldest go first); an entry lives ttl_s at most after the Argon2id run that made it (a
// hit does not extend it); no secret or MAC is ever logged; wipe() and the destructor wipe every
// entry and the key.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "appliance/directory/login_history.h"
#include "core/result.h"
#include "crypto/hmac.h"
#include "crypto/secret_bytes.h"

namespace vmx {

struct VerifiedLoginOptions {
    std::uint32_t ttl_s = 900;           // 0: nothing is remembered (every login runs Argon2id)
    std::size_t entries_max = 100'000;   // all users together
};

// One stored hash to try, and what kind of secret it is.
struct PasswordCandidate {
    std::string hash;  // Argon2id PHC string
    LoginMethod method = LoginMethod::password;
};

class VerifiedLogins {
public:
    explicit VerifiedLogins(VerifiedLoginOptions options) : options_(options) {}
    ~VerifiedLogins() { wipe(); }
    VerifiedLogins(const VerifiedLogins&) = delete;
    VerifiedLogins& operator=(const VerifiedLogins&) = delete;

    // Draws the key for this start. Before it, and after wipe(), nothing is found or remembered.
    // Called before the auth workers start.
    Result<void> start();
    // Wipes every entry and the key. Called once no worker runs find() or remember() any more.
    void wipe() noexcept;

    // The method of the first candidate whose hash `secret` was verified against within the last
    // ttl_s, or nothing (then Argon2id decides). Constant-time comparisons; `user` is the login name.
    std::optional<LoginMethod> find(std::string_view user, std::span<const PasswordCandidate> candidates,
                                    std::string_view secret, std::int64_t now_s);

    // Taken before an Argon2id run and handed to remember(): a forget() in between (an admin changed
    // the user while the hash ran) means the result is not remembered.
    std::uint64_t ticket() const noexcept { return forgets_.load(std::memory_order_acquire); }
    // Argon2id accepted `secret` for `matched`, the user's current stored hash, at verified_s.
    void remember(std::string_view user, const PasswordCandidate& matched, std::string_view secret,
                  std::int64_t verified_s, std::uint64_t ticket);

    // A wrong secret for `user`: its entries go, so its next login is a full check.
    void failed(std::string_view user);
    // The user's credentials, state or sessions changed: its entries go, and no check running now is
    // remembered. Any thread.
    void forget(std::string_view user);

    std::size_t size() const;
    std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
    std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }

private:
    using Mac = std::array<std::uint8_t, crypto::hmac_sha256_bytes>;
    struct Entry {
        std::string user;
        Mac mac{};
        std::int64_t verified_s = 0;
    };
    using Entries = std::list<Entry>;  // oldest first: one TTL for all, so also the first to expire

    bool enabled() const noexcept { return options_.ttl_s > 0 && options_.entries_max > 0 && !key_.empty(); }
    bool alive(const Entry& e, std::int64_t now_s) const noexcept;
    bool mac_of(std::string_view user, const PasswordCandidate& candidate, std::string_view secret, Mac& out) const;
    void drop(const std::string& user);
    void erase(Entries::iterator entry);
    void make_room(std::int64_t now_s);

    const VerifiedLoginOptions options_;
    crypto::SecretBytes key_;  // written by start() and wipe() only, when no worker runs
    mutable std::mutex mutex_;
    Entries entries_;
    std::unordered_map<std::string, std::vector<Entries::iterator>> by_user_;
    std::atomic<std::uint64_t> forgets_{0};
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
};

}  // namespace vmx
