// The outbound delivery agent of one shard: it sends what this shard's smtp-out queues hold.
//
// Shape (Postfix's qmgr + smtp in one loop): each queued message's due recipients are grouped by
// domain into jobs; each job waits in its destination's queue (a domain found by MX, a route's next
// hop, or the relayhost). A destination opens connections up to its concurrency limit, which starts
// at concurrency_initial and grows by one per delivered message up to concurrency_max; a connection
// carries up to messages_per_connection jobs, one after the other. A connection tries the
// destination's targets (MX hosts by preference, each host's IPv6 then IPv4 addresses) in order until
// one greets; when none does, the destination rests for dead_backoff_ms and its waiting jobs are
// deferred. DNS answers (the shard's DnsResolver, on its own thread) are reused for dns_cache_ms.
//
// Durability: the remote server's 250 is written to the queue entry (or the entry removed, when no
// recipient is left) before the connection carries its next message, so a crash resends at most
// the message in flight. A temporary failure is tried again on RetryPolicy's schedule; a permanent
// one, or a recipient still failing at the end of its lifetime, bounces (the Bouncer) before its
// failure is written, so a crash may bounce twice but never loses a bounce.
//
// Threads: shard thread only; counters are read with relaxed loads by the control thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "appliance/common/counters.h"
#include "appliance/delivery/failed_delivery.h"
#include "appliance/delivery/outbound_options.h"
#include "appliance/delivery/outbound_session.h"
#include "appliance/mailstore/shard_store.h"
#include "core/shard.h"
#include "core/socket_address.h"
#include "net/dns/resolver.h"
#include "store/envelope.h"

namespace vmx {

struct OutboundStats {
    std::atomic<std::uint64_t> accepted{0};          // messages durably queued for remote recipients
    std::atomic<std::uint64_t> queued{0};            // entries in this shard's smtp-out queues now
    std::atomic<std::uint64_t> delivered{0};         // recipients accepted by the next hop
    std::atomic<std::uint64_t> deferred{0};          // recipients that failed temporarily
    std::atomic<std::uint64_t> bounced{0};           // recipients that failed for good
    std::atomic<std::uint64_t> connections{0};       // sessions opened
    std::atomic<std::uint64_t> tls_sessions{0};      // ... that ran STARTTLS
    std::atomic<std::uint64_t> connect_failures{0};  // targets that did not greet
    std::atomic<std::uint64_t> dns_failures{0};      // lookups that deferred a destination
    std::atomic<std::uint64_t> write_failures{0};    // queue updates that failed (the state is redone)
    std::atomic<std::uint64_t> tls_failures{0};      // STARTTLS handshakes that failed
    DurationHistogram delivery_seconds;              // a message sent on a session: to its last reply

    void list(CounterSnapshot& out) const {
        out.add("outbound.accepted", accepted);
        out.add("outbound.queued", queued);
        out.add("outbound.delivered", delivered);
        out.add("outbound.deferred", deferred);
        out.add("outbound.bounced", bounced);
        out.add("outbound.connections", connections);
        out.add("outbound.tls_sessions", tls_sessions);
        out.add("outbound.connect_failures", connect_failures);
        out.add("outbound.dns_failures", dns_failures);
        out.add("outbound.write_failures", write_failures);
        out.add("outbound.tls_failures", tls_failures);
        out.add("outbound.delivery", delivery_seconds);
    }
};


class DeliveryAgent final : public SessionEvents {
public:
    // `service` is the shard's outbound service (Shard::add_service with an OutboundService).
    DeliveryAgent(Shard& shard, ShardStore& store, std::uint32_t service, OutboundOptions options);
    ~DeliveryAgent() override;

    // Starts the DNS resolver's thread and watches its answers. Without it (no resolv.conf, a bad
    // [delivery] resolver) routes to address literals still work and MX destinations defer.
    Result<void> start();
    void set_bounce_hook(BounceHook hook) { bounce_ = std::move(hook); }
    // The relayhost's AUTH credentials (the appliance secret "relayhost" with [delivery]
    // relayhost_user); null: none. Sessions opened after the call use them.
    void set_relay_auth(std::shared_ptr<const RelayCredentials> auth) { relay_auth_ = std::move(auth); }

    // A message durably queued in smtp-out (its body stays in memory until it is first sent).
    void add(std::uint32_t segment, std::uint64_t id, store::Envelope envelope, std::shared_ptr<const std::string> body);
    void count_accepted() noexcept { ++stats_.accepted; }
    // Picks up every entry this shard's smtp-out queues hold (at the first loop turn).
    void recover();
    // The admin's queue tools: every deferred recipient (of one entry, or all) is due now, and the
    // destinations' rests end. Returns the entries touched.
    std::size_t retry(std::optional<std::pair<std::uint32_t, std::uint64_t>> only);
    // Removes an entry without delivering it (its recipients are not bounced). `done` gets not_found
    // when this shard has no such entry, busy while a connection is sending it.
    void remove(std::uint32_t segment, std::uint64_t id, std::function<void(std::error_code)> done);

    const OutboundStats& stats() const noexcept { return stats_; }
    std::size_t sessions_live() const noexcept { return sessions_.size(); }

    // SessionEvents
    void session_ready(std::uint64_t session) override;
    void session_progress(std::uint64_t session) override;
    void message_done(std::uint64_t session, smtp::MessageOutcome&& outcome) override;
    void session_ended(std::uint64_t session, const SessionEnd& end) override;

private:
    using Key = std::pair<std::uint32_t, std::uint64_t>;
    struct Entry;
    struct Job;
    struct Destination;
    struct Target;
    struct Session;

    enum class Permanence : std::uint8_t { temporary, permanent };
    void schedule_entry(const Key& key);
    void arm_retry(Entry& entry);
    Destination& destination_for(std::string_view domain);
    // Opens connections for waiting jobs; resolves first when the targets are stale (unless they
    // were resolved just now: with dns_cache_ms 0 they are stale at once).
    enum class Targets : std::uint8_t { check_age, just_resolved };
    void pump(Destination& dest, Targets targets = Targets::check_age);
    void pump_starved();
    void sweep_destinations();
    void resolve(Destination& dest);
    void on_mx_answer(const std::string& name, const std::string& domain, const net::dns::DnsAnswer& answer);
    void resolve_addresses(const std::string& name, std::vector<std::string> hosts, std::uint16_t port);
    void plan_ready(const std::string& name, std::vector<Target> targets);
    void plan_failed(const std::string& name, const smtp::Reply& why, Permanence permanence);
    enum class TlsAttempt : std::uint8_t { when_offered, plaintext };  // plaintext: after a failed handshake under `may`
    bool open_session(Destination& dest, std::size_t target, TlsAttempt tls_attempt);
    void keep_body(Entry& entry, std::shared_ptr<const std::string> body);
    void drop_body(Entry& entry);
    void next_job(Session& s);
    void fail_queue(Destination& dest, const smtp::Reply& why, Permanence permanence);
    void finish_job(Job job, const std::vector<std::pair<std::size_t, smtp::Reply>>& accepted,
                    const std::vector<std::pair<std::size_t, smtp::Reply>>& temp,
                    const std::vector<std::pair<std::size_t, smtp::Reply>>& perm, const std::string& host,
                    std::function<void()> then);
    void bounce_then_persist(Entry& entry, std::vector<std::size_t> failed, std::vector<std::string> hosts,
                             std::function<void()> then);
    void persist(Entry& entry, std::function<void()> then);
    void start_write(const Key& key);
    void check_session(std::uint64_t id);
    Result<void> lookup(net::dns::DnsQuery query, const std::string& name, std::function<void(net::dns::DnsAnswer&&)> fn);
    std::shared_ptr<const std::string> body_of(Entry& entry);
    std::int64_t now_unix() const;
    std::string queue_id(const Key& key) const;

    Shard& shard_;
    ShardStore& store_;
    const std::uint32_t service_;
    const OutboundOptions options_;
    net::dns::DnsResolver resolver_;
    bool resolver_running_ = false;
    BounceHook bounce_;
    std::shared_ptr<const RelayCredentials> relay_auth_;
    std::map<Key, std::unique_ptr<Entry>> entries_;
    std::map<std::string, std::unique_ptr<Destination>, std::less<>> destinations_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
    std::unordered_map<std::uint64_t, std::function<void(net::dns::DnsAnswer&&)>> lookups_;
    std::deque<std::string> starved_;  // destinations waiting for one of the shard's connections
    std::uint64_t cached_body_bytes_ = 0;  // of the bodies entries keep (body_cache_bytes_max)
    std::uint64_t next_session_ = 1;
    std::uint64_t next_lookup_ = 1;
    std::uint64_t random_state_;
    OutboundStats stats_;
};

}  // namespace vmx
