#include "appliance/acme/challenge_board.h"

namespace vmx {

bool valid_acme_token(std::string_view token) noexcept {
    if (token.empty() || token.size() > 256) return false;
    for (const char c : token) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

bool ChallengeBoard::put(std::string token, std::string key_authorization) {
    if (!valid_acme_token(token)) return false;
    const std::lock_guard lock(mutex_);
    if (answers_.size() >= acme_tokens_max && !answers_.contains(token)) return false;
    answers_.insert_or_assign(std::move(token), std::move(key_authorization));
    return true;
}

void ChallengeBoard::remove(std::string_view token) {
    const std::lock_guard lock(mutex_);
    if (const auto it = answers_.find(token); it != answers_.end()) answers_.erase(it);
}

std::optional<std::string> ChallengeBoard::find(std::string_view token) const {
    const std::lock_guard lock(mutex_);
    const auto it = answers_.find(token);
    if (it == answers_.end()) return std::nullopt;
    return it->second;
}

std::size_t ChallengeBoard::size() const {
    const std::lock_guard lock(mutex_);
    return answers_.size();
}

}  // namespace vmx
