// Per-client limits of the MX (see client_limits.h).
#include "appliance/smtp/client_limits.h"

#include <algorithm>
#include <functional>

namespace vmx {
namespace {

constexpr std::int64_t minute_ms = 60'000;

bool window_over(std::int64_t start_ms, std::int64_t now_ms) { return now_ms - start_ms >= minute_ms; }

}  // namespace

ClientLimits::ClientLimits(ClientLimitOptions options) : options_(std::move(options)) {}

ClientLimits::Stripe& ClientLimits::stripe_of(std::string_view address) {
    return stripes_[std::hash<std::string_view>{}(address) % stripes];
}

ClientLimits::Client& ClientLimits::client(Stripe& s, std::string_view address, std::int64_t now_ms) {
    auto it = s.clients.find(std::string(address));
    if (it != s.clients.end()) return it->second;
    make_room(s, now_ms);
    return s.clients[std::string(address)];
}

// A fixed one-minute window per counter: cheap, and a burst at a window's edge gets at most twice
// the rate, which is what the limit is for.
bool ClientLimits::take(Window& w, std::uint32_t per_minute, std::int64_t now_ms) {
    if (per_minute == 0) return true;
    if (window_over(w.start_ms, now_ms)) {
        w.start_ms = now_ms;
        w.count = 0;
    }
    if (w.count >= per_minute) return false;
    ++w.count;
    return true;
}

Admission ClientLimits::connect(std::string_view address, std::int64_t now_ms) {
    Stripe& s = stripe_of(address);
    std::lock_guard lock(s.mutex);
    Client& c = client(s, address, now_ms);
    if (options_.connections_max != 0 && c.open >= options_.connections_max) return Admission::too_many_connections;
    if (!take(c.connections, options_.connections_per_minute, now_ms)) return Admission::too_fast;
    ++c.open;
    return Admission::admitted;
}

void ClientLimits::disconnect(std::string_view address) {
    Stripe& s = stripe_of(address);
    std::lock_guard lock(s.mutex);
    auto it = s.clients.find(std::string(address));
    if (it != s.clients.end() && it->second.open > 0) --it->second.open;
}

bool ClientLimits::message(std::string_view address, std::int64_t now_ms) {
    if (options_.messages_per_minute == 0) return true;
    Stripe& s = stripe_of(address);
    std::lock_guard lock(s.mutex);
    return take(client(s, address, now_ms).messages, options_.messages_per_minute, now_ms);
}

bool ClientLimits::recipient(std::string_view address, std::int64_t now_ms) {
    if (options_.recipients_per_minute == 0) return true;
    Stripe& s = stripe_of(address);
    std::lock_guard lock(s.mutex);
    return take(client(s, address, now_ms).recipients, options_.recipients_per_minute, now_ms);
}

std::size_t ClientLimits::tracked() const {
    std::size_t n = 0;
    for (const Stripe& s : stripes_) {
        std::lock_guard lock(s.mutex);
        n += s.clients.size();
    }
    return n;
}

// Idle clients whose windows are all over go first; then idle ones with the oldest windows. A
// client with open connections stays (its count must reach zero again).
void ClientLimits::make_room(Stripe& s, std::int64_t now_ms) {
    const std::size_t per_stripe = std::max<std::size_t>(1, options_.tracked_max / stripes);
    if (s.clients.size() < per_stripe) return;
    const auto newest = [](const Client& c) {
        return std::max({c.connections.start_ms, c.messages.start_ms, c.recipients.start_ms});
    };
    std::erase_if(s.clients, [&](const auto& entry) {
        return entry.second.open == 0 && window_over(newest(entry.second), now_ms);
    });
    while (s.clients.size() >= per_stripe) {
        auto oldest = s.clients.end();
        for (auto it = s.clients.begin(); it != s.clients.end(); ++it)
            if (it->second.open == 0 && (oldest == s.clients.end() || newest(it->second) < newest(oldest->second)))
                oldest = it;
        if (oldest == s.clients.end()) return;  // every one has connections open: grow past the bound
        s.clients.erase(oldest);
    }
}

}  // namespace vmx
