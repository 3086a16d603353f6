// The portal's sessions, held by the daemon (see portal_sessions.h).
#include "appliance/auth/portal_sessions.h"

#include <algorithm>

#include "core/hex_text.h"
#include "crypto/hmac.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"

namespace vmx {
namespace {

constexpr std::size_t token_bytes = 32;

}  // namespace

PortalSessions::PortalSessions(PortalSessionLimits limits) : limits_(limits) {
    // Without a random key every lookup fails closed (digest_of refuses an all-zero key).
    if (!crypto::random_bytes(hash_key_)) hash_key_.fill(0);
}

PortalSessions::~PortalSessions() {
    crypto::secure_wipe(hash_key_);
    for (auto& [digest, s] : sessions_) crypto::secure_wipe(s.pending_totp);
}

std::optional<PortalSessions::Digest> PortalSessions::digest_of(std::string_view token) const {
    if (token.size() != 2 * token_bytes || std::all_of(hash_key_.begin(), hash_key_.end(), [](auto b) { return b == 0; }))
        return std::nullopt;
    Digest out{};
    const std::span<const std::uint8_t> part(reinterpret_cast<const std::uint8_t*>(token.data()), token.size());
    const std::span<const std::uint8_t> parts[] = {part};
    if (!crypto::hmac_sha256(hash_key_, parts, out)) return std::nullopt;
    return out;
}

std::optional<std::string> PortalSessions::open(std::uint64_t user_id, std::uint64_t token_generation,
                                                PortalStage stage, std::string client_ip, std::int64_t now_unix,
                                                std::uint32_t lifetime_s) {
    std::array<std::uint8_t, token_bytes> raw{};
    if (!crypto::random_bytes(raw)) return std::nullopt;
    std::string token = hex_of(raw);
    crypto::secure_wipe(raw);
    auto digest = digest_of(token);
    if (!digest) return std::nullopt;
    make_room(user_id);
    PortalSession s;
    s.id = next_id_++;
    s.user_id = user_id;
    s.token_generation = token_generation;
    s.stage = stage;
    s.client_ip = std::move(client_ip);
    s.started_unix = now_unix;
    s.last_unix = now_unix;
    s.ends_unix = lifetime_s == 0 ? INT64_MAX : now_unix + lifetime_s;
    sessions_[*digest] = std::move(s);
    return token;
}

// The second factor's window is checked here, not folded into ends_unix: once the code is given
// the stage moves on and the session lives to its lifetime's end.
bool PortalSessions::expired(const PortalSession& s, std::int64_t now_unix) const {
    if (s.stage == PortalStage::second_factor && now_unix - s.started_unix >= static_cast<std::int64_t>(limits_.pending_s))
        return true;
    return now_unix >= s.ends_unix || now_unix - s.last_unix >= static_cast<std::int64_t>(limits_.idle_s);
}

PortalSession* PortalSessions::find(std::string_view token, std::int64_t now_unix) {
    auto digest = digest_of(token);
    if (!digest) return nullptr;
    auto it = sessions_.find(*digest);
    if (it == sessions_.end()) return nullptr;
    if (expired(it->second, now_unix)) {
        erase(it);
        return nullptr;
    }
    it->second.last_unix = now_unix;
    return &it->second;
}

void PortalSessions::erase(std::map<Digest, PortalSession>::iterator it) {
    crypto::secure_wipe(it->second.pending_totp);
    sessions_.erase(it);
}

void PortalSessions::close(std::string_view token) {
    auto digest = digest_of(token);
    if (!digest) return;
    if (auto it = sessions_.find(*digest); it != sessions_.end()) erase(it);
}

bool PortalSessions::close_id(std::uint64_t user_id, std::uint64_t id) {
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
        if (it->second.id != id || it->second.user_id != user_id) continue;
        erase(it);
        return true;
    }
    return false;
}

std::size_t PortalSessions::close_user(std::uint64_t user_id) {
    std::size_t closed = 0;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        auto next = std::next(it);
        if (it->second.user_id == user_id) {
            erase(it);
            ++closed;
        }
        it = next;
    }
    return closed;
}

std::vector<PortalSession> PortalSessions::of_user(std::uint64_t user_id) const {
    std::vector<PortalSession> out;
    for (const auto& [digest, s] : sessions_) {
        if (s.user_id != user_id || s.stage == PortalStage::second_factor) continue;
        PortalSession copy = s;
        copy.pending_totp.clear();
        copy.challenge.clear();
        out.push_back(std::move(copy));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

void PortalSessions::expire(std::int64_t now_unix) {
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        auto next = std::next(it);
        if (expired(it->second, now_unix)) erase(it);
        it = next;
    }
}

// The table and the user's share stay within their limits: the oldest session gives way.
void PortalSessions::make_room(std::uint64_t user_id) {
    auto oldest = [this](auto&& pick) {
        auto found = sessions_.end();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (pick(it->second) && (found == sessions_.end() || it->second.id < found->second.id)) found = it;
        return found;
    };
    const auto mine = static_cast<std::size_t>(std::count_if(
        sessions_.begin(), sessions_.end(), [user_id](const auto& e) { return e.second.user_id == user_id; }));
    if (mine >= limits_.per_user_max) {
        if (auto it = oldest([user_id](const PortalSession& s) { return s.user_id == user_id; }); it != sessions_.end())
            erase(it);
    }
    if (sessions_.size() >= limits_.sessions_max) {
        if (auto it = oldest([](const PortalSession&) { return true; }); it != sessions_.end()) erase(it);
    }
}

}  // namespace vmx
