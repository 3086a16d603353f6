// LoginThrottle (see login_throttle.h).
#include "appliance/auth/login_throttle.h"

#include <algorithm>

namespace vmx {

LoginThrottle::Count LoginThrottle::current(const Map& map, std::string_view key, std::int64_t now_s) const {
    auto it = map.find(std::string(key));
    if (it == map.end() || now_s - it->second.first_s >= std::int64_t{options_.window_s}) return {};
    return it->second;
}

void LoginThrottle::bump(Map& map, std::string_view key, std::int64_t now_s) {
    auto it = map.find(std::string(key));
    if (it == map.end()) {
        make_room(map, now_s);
        it = map.emplace(std::string(key), Count{0, now_s}).first;
    }
    Count& c = it->second;
    if (now_s - c.first_s >= std::int64_t{options_.window_s}) c = Count{0, now_s};
    if (c.failures < UINT32_MAX) ++c.failures;
}

// Bounded memory: drop what has expired; if that is not enough, the entry whose window started first.
void LoginThrottle::make_room(Map& map, std::int64_t now_s) {
    if (map.size() < options_.entries_max) return;
    std::erase_if(map, [&](const auto& e) { return now_s - e.second.first_s >= std::int64_t{options_.window_s}; });
    if (map.size() < options_.entries_max || map.empty()) return;
    auto oldest = std::min_element(map.begin(), map.end(),
                                   [](const auto& a, const auto& b) { return a.second.first_s < b.second.first_s; });
    map.erase(oldest);
}

std::uint64_t LoginThrottle::delay_for(std::uint32_t failures, std::uint32_t free) const noexcept {
    if (failures <= free) return 0;
    const std::uint32_t doublings = std::min<std::uint32_t>(failures - free - 1, 20);
    return std::min(options_.delay_base_ms << doublings, options_.delay_max_ms);
}

ThrottleDecision LoginThrottle::decide(const Count& user, const Count& address) const noexcept {
    ThrottleDecision d;
    d.refused = address.failures >= options_.address_refuse_failures;
    d.delay_ms = std::max(delay_for(user.failures, options_.user_free_failures),
                          delay_for(address.failures, options_.address_free_failures));
    return d;
}

ThrottleDecision LoginThrottle::check(std::string_view user, std::string_view address, std::int64_t now_s) {
    std::lock_guard lock(mutex_);
    return decide(current(users_, user, now_s), current(addresses_, address, now_s));
}

ThrottleDecision LoginThrottle::failed(std::string_view user, std::string_view address, std::int64_t now_s) {
    std::lock_guard lock(mutex_);
    bump(users_, user, now_s);
    bump(addresses_, address, now_s);
    return decide(current(users_, user, now_s), current(addresses_, address, now_s));
}

void LoginThrottle::succeeded(std::string_view user) {
    std::lock_guard lock(mutex_);
    users_.erase(std::string(user));
}

std::size_t LoginThrottle::users_tracked() const {
    std::lock_guard lock(mutex_);
    return users_.size();
}

std::size_t LoginThrottle::addresses_tracked() const {
    std::lock_guard lock(mutex_);
    return addresses_.size();
}

}  // namespace vmx
