// What outbound delivery is told by the config ([delivery] rows, [delivery.routes],
// [delivery.tls_policies]): where mail goes, how it is protected, and the limits of the agent. Plain
// values, immutable once the daemon starts; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "appliance/config/next_hop.h"
#include "appliance/delivery/retry_policy.h"
#include "core/message.h"
#include "crypto/secret_bytes.h"
#include "net/smtp/client.h"

namespace vmx::net {
class TlsClientContext;
}

namespace vmx {

struct RelayCredentials {
    std::string username;
    crypto::SecretBytes password;  // the appliance secret "relayhost"
};

// control -> every shard (AppMessage::relay_auth): the relayhost's credentials changed (secret set
// or remove); null: none now.
struct RelayAuthUpdated final : MessagePayload {
    std::shared_ptr<const RelayCredentials> auth;
};

struct OutboundOptions {
    std::string helo;                                   // our name in EHLO ([smtp] hostname)
    std::vector<std::string> resolvers;                 // "IP:PORT"; empty: /etc/resolv.conf
    std::uint16_t mx_port = 25;                         // the port of hosts found by MX (tests move it)
    std::map<std::string, NextHop, std::less<>> routes; // lower-case domain -> next hop (transport map)
    std::optional<NextHop> relayhost;                   // everything not routed goes here
    std::string relay_user;                             // [delivery] relayhost_user: AUTH (and so TLS) at the relayhost
    smtp::TlsPolicy relay_tls = smtp::TlsPolicy::verify; // the least TLS for AUTH there: verify, or encrypt
    std::shared_ptr<const RelayCredentials> relay_auth; // its credentials at start; null: none (yet)
    smtp::TlsPolicy tls = smtp::TlsPolicy::may;         // default level
    std::map<std::string, smtp::TlsPolicy, std::less<>> tls_policies;  // lower-case domain -> level
    std::shared_ptr<const net::TlsClientContext> tls_opportunistic;    // may, encrypt: any certificate
    std::shared_ptr<const net::TlsClientContext> tls_verified;         // verify: chain and name checked
    RetryPolicy retry;                                  // when a deferred recipient is tried again
    smtp::ClientLimits client;                          // reply and line limits of the SMTP client
    std::uint32_t connect_timeout_ms = 30'000;          // TCP connect
    std::uint32_t reply_timeout_ms = 300'000;           // any one reply (greeting, EHLO, RCPT, the final dot)
    std::uint32_t session_timeout_ms = 3'600'000;       // a whole connection, however busy
    std::uint32_t connections_max = 100;                // outbound connections per shard
    std::uint32_t concurrency_initial = 2;              // connections to one destination at first...
    std::uint32_t concurrency_max = 20;                 // ...growing by one per delivered message to this
    std::uint32_t messages_per_connection = 100;        // then QUIT and connect again
    std::uint32_t dead_backoff_ms = 60'000;             // a destination none of whose hosts answered rests this long
    std::uint32_t dns_cache_ms = 300'000;               // how long an MX plan or an address answer is reused
    std::uint64_t body_cache_bytes_max = 64ull << 20;   // bodies kept in memory between queueing and sending;
                                                        // past it they are read back from the queue when sent
    std::function<std::int64_t()> now_unix;             // empty: the wall clock (tests move their own)
};

}  // namespace vmx
