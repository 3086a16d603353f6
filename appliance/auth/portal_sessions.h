// The portal's signed-in sessions, held by the daemon (never by the internet-facing portal process):
// a session is a random token the portal keeps in the browser's cookie and hands back with every
// request on the user-scoped socket, so a portal that is taken over can act only for users who
// sign in while it is, and only until they sign out. Control thread only.
// Invariants: only a keyed hash of each token is kept (HMAC-SHA256 under a key made at start) (a token is never stored or logged); a session
// ends at its lifetime (the organisation's ceiling), after idle_s without use, when the user's
// token generation moves (a remote logout, a disable, a closure), at sign-out, or when the table
// is full and it is the oldest. A session waiting for its second factor has pending_s and at most
// second_factor_tries_max codes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vmx {

struct PortalSessionLimits {
    std::size_t sessions_max = 10000;     // every user; a new one past it ends the oldest
    std::size_t per_user_max = 16;        // one user's; a new one past it ends that user's oldest
    std::uint32_t idle_s = 1800;          // unused this long: ended
    std::uint32_t pending_s = 300;        // to give the second factor after the password
    std::uint32_t second_factor_tries_max = 5;
};

enum class PortalStage : std::uint8_t {
    second_factor,  // the password was right; a code (or a security key) is owed
    enrol,          // signed in, but the organisation requires MFA and none is enrolled: enrolment only
    full,           // signed in
};

struct PortalSession {
    std::uint64_t id = 0;              // shown on the security page ("log out this device")
    std::uint64_t user_id = 0;
    std::uint64_t token_generation = 0;  // the user's at sign-in
    PortalStage stage = PortalStage::second_factor;
    std::string client_ip;
    std::int64_t started_unix = 0;
    std::int64_t last_unix = 0;
    std::int64_t ends_unix = 0;        // the lifetime's end
    std::uint32_t factor_tries = 0;
    std::vector<std::uint8_t> pending_totp;  // an enrolment shown but not yet confirmed (wiped)
    // A WebAuthn ceremony under way (registration, or sign-in with a key): its challenge, for whom
    // (the relying party id it was made for), until when. Used once.
    std::vector<std::uint8_t> challenge;
    std::string challenge_rp_id;
    std::int64_t challenge_ends_unix = 0;
};

class PortalSessions {
public:
    explicit PortalSessions(PortalSessionLimits limits);
    PortalSessions(const PortalSessions&) = delete;
    PortalSessions& operator=(const PortalSessions&) = delete;
    ~PortalSessions();

    // A new session and its token (64 hex digits); nothing when the random source failed.
    // lifetime_s: how long it may live at most (0: the idle limit alone ends it).
    std::optional<std::string> open(std::uint64_t user_id, std::uint64_t token_generation, PortalStage stage,
                                    std::string client_ip, std::int64_t now_unix, std::uint32_t lifetime_s);
    // The live session of `token`, touched (its idle clock starts again); null for an unknown,
    // ended or expired one (an expired one is removed). The pointer is good until the next change.
    PortalSession* find(std::string_view token, std::int64_t now_unix);
    // Ends the session of `token`; ends one session of a user by id; every session of a user.
    void close(std::string_view token);
    bool close_id(std::uint64_t user_id, std::uint64_t id);
    std::size_t close_user(std::uint64_t user_id);
    std::vector<PortalSession> of_user(std::uint64_t user_id) const;
    // Removes expired sessions (on the control loop's tick).
    void expire(std::int64_t now_unix);
    std::size_t size() const noexcept { return sessions_.size(); }
    const PortalSessionLimits& limits() const noexcept { return limits_; }

private:
    using Digest = std::array<std::uint8_t, 32>;
    std::optional<Digest> digest_of(std::string_view token) const;
    bool expired(const PortalSession& s, std::int64_t now_unix) const;
    void erase(std::map<Digest, PortalSession>::iterator it);
    void make_room(std::uint64_t user_id);

    PortalSessionLimits limits_;
    std::array<std::uint8_t, 32> hash_key_{};  // random, made at start, wiped at the end
    std::map<Digest, PortalSession> sessions_;  // by keyed hash of the token
    std::uint64_t next_id_ = 1;
};

}  // namespace vmx
