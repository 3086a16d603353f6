// Internal to the delivery agent's sources (delivery_agent.cc, delivery_routing.cc,
// delivery_sessions.cc): the agent's state types and the small helpers they share. Shard thread only.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "appliance/delivery/delivery_agent.h"

namespace vmx {

namespace delivery_detail {

using RecipientReplies = std::vector<std::pair<std::size_t, smtp::Reply>>;

inline constexpr std::uint64_t destination_sweep_ms = 60'000;  // how often idle destinations are forgotten

inline std::string domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    std::string out(at == std::string_view::npos ? std::string_view() : address.substr(at + 1));
    for (char& ch : out)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
}

inline bool has_non_ascii(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; });
}

inline std::string reply_text(const smtp::Reply& r) { return fmt::format("{} {}", r.code, r.text); }

// A reply this appliance makes up (DNS, connection and queue failures), as a server's would read.
inline smtp::Reply local_reply(int code, std::string text) { return {code, std::move(text), smtp::ReplyFrom::client}; }

}  // namespace delivery_detail

struct DeliveryAgent::Entry {
    Key key;
    store::Envelope envelope;
    std::shared_ptr<const std::string> body;  // kept while a job is active; read back otherwise
    std::vector<bool> in_job;                  // per recipient: waiting in or sent by a job
    std::size_t jobs = 0;                      // jobs holding recipients of this entry
    bool retry_armed = false;
    std::int64_t retry_at_unix = 0;            // when the armed retry fires
    std::size_t bounces_pending = 0;           // bounces not yet durable: the failures they report wait
    bool writing = false;                      // a write is with the lane
    bool dirty = false;                        // the envelope changed since that write began
    bool removed = false;                      // the removal committed (or the admin removed it)
    std::vector<std::function<void()>> after_write;  // wait for the write in progress
    std::vector<std::function<void()>> after_next;   // wait for the next write
};

struct DeliveryAgent::Job {
    Key entry;
    std::vector<std::size_t> recipients;  // indexes into the entry's envelope
};

struct DeliveryAgent::Target {
    std::string host;      // for TLS (SNI, verify) and logs; empty for an address literal
    SocketAddress address;
};

struct DeliveryAgent::Destination {
    std::string name;                     // "mx:<domain>", "route:<domain>" or "relayhost"
    std::string domain;                   // MX destinations: the domain looked up
    std::optional<NextHop> hop;           // routes and the relayhost
    smtp::TlsPolicy tls = smtp::TlsPolicy::may;
    bool relay = false;                   // AUTH with the relayhost's credentials
    std::deque<Job> queue;
    std::uint32_t sessions = 0;           // open or opening
    std::uint32_t starting = 0;           // ... of which not yet carrying a job
    std::uint32_t limit = 1;
    std::uint64_t rest_until_ms = 0;      // dead: no connection before this
    bool rest_timer = false;
    std::vector<Target> targets;
    std::uint64_t plan_until_ms = 0;      // targets are fresh until then
    bool resolving = false;
    bool starved = false;                 // waits in starved_ for a free connection
};

struct DeliveryAgent::Session {
    std::uint64_t id = 0;
    std::string destination;
    std::size_t target = 0;
    bool tls_possible = true;
    ConnectionId connection;
    std::optional<Job> job;               // the message in flight, or its outcome being written
    bool writing = false;                 // the last outcome is not yet durable
    std::uint32_t messages = 0;
    std::uint64_t progress_ms = 0;        // the last reply that moved the session on
    std::uint64_t job_started_us = 0;     // when the job now sent was handed to the session (metrics)
    std::uint64_t opened_ms = 0;
    bool counted_starting = true;         // still counted in its destination's `starting`
};

}  // namespace vmx
