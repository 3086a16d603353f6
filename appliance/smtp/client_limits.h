// ClientLimits: what one client address may do to the MX at once and per minute (Postfix's anvil):
// open connections, new connections, messages (MAIL) and recipients (RCPT). One table for all
// shards, split into stripes each under its own short lock, so a flood that SO_REUSEPORT spreads
// over the shards is still counted once. Addresses in [limits] exempt_networks are never counted.
// Invariants: a count of 0 in the options means no limit; at most tracked_max addresses are
// remembered (idle ones go first, then the oldest windows; an address with open connections is
// never forgotten); connect() and disconnect() pair up (the caller disconnects only what was admitted).
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/network_range.h"

namespace vmx {

struct ClientLimitOptions {
    std::uint32_t connections_max = 20;          // open at once
    std::uint32_t connections_per_minute = 60;
    std::uint32_t messages_per_minute = 120;
    std::uint32_t recipients_per_minute = 600;
    std::size_t tracked_max = 100'000;
    NetworkList exempt;
};

enum class Admission : std::uint8_t {
    admitted,
    too_many_connections,  // connections_max open already
    too_fast,              // connections_per_minute reached
};

class ClientLimits {
public:
    explicit ClientLimits(ClientLimitOptions options);

    bool exempt(const SocketAddress& address) const noexcept { return options_.exempt.contains(address); }
    // A new connection from `address` (the host text); admitted ones count until disconnect().
    Admission connect(std::string_view address, std::int64_t now_ms);
    void disconnect(std::string_view address);
    // One more MAIL, or one more RCPT, this minute; false when the limit is reached (not counted).
    bool message(std::string_view address, std::int64_t now_ms);
    bool recipient(std::string_view address, std::int64_t now_ms);

    std::size_t tracked() const;

private:
    struct Window {
        std::int64_t start_ms = 0;
        std::uint32_t count = 0;
    };
    struct Client {
        std::uint32_t open = 0;
        Window connections, messages, recipients;
    };
    struct Stripe {
        mutable std::mutex mutex;
        std::unordered_map<std::string, Client> clients;
    };
    static constexpr std::size_t stripes = 16;

    Stripe& stripe_of(std::string_view address);
    Client& client(Stripe& s, std::string_view address, std::int64_t now_ms);
    bool take(Window& w, std::uint32_t per_minute, std::int64_t now_ms);
    void make_room(Stripe& s, std::int64_t now_ms);

    const ClientLimitOptions options_;
    std::array<Stripe, stripes> stripes_;
};

}  // namespace vmx
