// DnsResolver: the DNS lookups of one shard (MX, then AAAA and A of each MX host), run by a helper
// thread of their own on a c-ares channel, so the shard never waits on DNS.
//
// Threads: exactly one thread (the owner, a shard) calls start(), the lookups, drain() and the
// accessors. The resolver's thread owns the c-ares channel and its sockets, poll()s them and runs
// every c-ares callback. Requests travel through a bounded SPSC queue; answers come back through
// another one and an eventfd, completion_fd(). The caller wires that fd into its loop, so net does
// not depend on the shard: `shard.watch_readable(r.completion_fd(), [&](Shard&) { r.drain(fn); })`.
//
// Limits (DnsResolverOptions): requests_in_flight_max requests submitted and not yet drained; past
// it a lookup fails at once with NetErrc::dns_busy and nothing is queued. Of those, the thread keeps
// queries_on_wire_max DNS queries sent at a time; the rest wait, in order, in the request queue.
// A malformed name, or one over name_bytes_max, fails with dns_invalid_name. An answer keeps
// records_per_answer_max records at most (MX: the most preferred) and says so in `truncated`.
//
// Time: c-ares waits query_timeout_ms for a server's first try and doubles the wait each round, so
// with N servers an answer comes at most N * query_timeout_ms * (2^query_tries - 1) after its
// queries were sent (answer_time_max_ms), plus any wait for room on the wire.
//
// Failure policy: while the resolver lives, every accepted request is answered exactly once: ok,
// nodata, nxdomain, or temp_failure with a reason (a c-ares status: timeout, SERVFAIL, REFUSED,
// connection refused, malformed answer; or the kernel's random source failing). Only nxdomain is permanent; the caller defers on temp_failure. On
// destruction the thread stops and ares_destroy ends the queries in flight: their answers, and those
// not yet drained, are DROPPED (freed, never handed out), since their owner is going away too.
//
// `secure` is the answer's AD bit, which every query asks for (RFC 6840 5.7). It is only as good as
// the resolver that set it and the path to it: point `servers` at a validating resolver on loopback
// before DANE (a later lookup_tlsa, with its own record vector in DnsAnswer) relies on it.
#pragma once

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "core/result.h"
#include "core/spsc_queue.h"
#include "net/dns/dns_types.h"
#include "net/dns/event_fd.h"

namespace vmx::net::dns {

enum class DnsQuery : std::uint8_t {
    mx,         // MX of a domain
    addresses,  // AAAA and A of a host, asked together, answered as one
};

struct DnsAnswer {
    std::uint64_t token = 0;                 // the caller's, from the lookup
    DnsQuery query = DnsQuery::mx;
    DnsStatus status = DnsStatus::temp_failure;
    std::error_code reason;                  // when temp_failure: a c-ares status (ares_category)
    bool secure = false;                     // AD set on every DNS answer this one was built from
    bool truncated = false;                  // records past records_per_answer_max were dropped
    std::vector<MxRecord> mx;                // query mx: by preference
    std::vector<IpAddress> addresses;        // query addresses: IPv6 first, then IPv4
};

struct DnsResolverOptions {
    // "IP:PORT" each ("127.0.0.1:53", "[::1]:53"), tried in order; they replace the system's
    // resolvers ([delivery] resolver). Empty: the nameservers of /etc/resolv.conf.
    std::vector<std::string> servers;
    std::uint32_t query_timeout_ms = 2000;        // one server's first try; c-ares doubles it per round
    std::uint32_t query_tries = 2;                // rounds over the servers
    std::uint32_t requests_in_flight_max = 1024;  // submitted and not yet drained
    std::uint32_t records_per_answer_max = 64;    // records kept per answer (per family for addresses)
    std::uint32_t name_bytes_max = 253;           // RFC 1035 2.3.4, without the trailing dot
    std::uint16_t edns_udp_bytes = 1232;          // EDNS0 payload we accept over UDP (DNS flag day 2020)
    // DNS queries sent and not yet answered (an addresses lookup sends two); later lookups wait in
    // the request queue. Answers to a burst of a thousand queries overflowed the socket's default
    // receive buffer (~200 small datagrams) on loopback, and each dropped answer cost a timeout.
    std::uint32_t queries_on_wire_max = 128;
    std::string thread_name = "vmx-dns";          // as top -H shows it (15 bytes at most)
};

// Counters; read with relaxed loads from any thread.
struct DnsResolverStats {
    std::atomic<std::uint64_t> requests{0};       // lookups accepted
    std::atomic<std::uint64_t> busy{0};           // lookups refused: requests_in_flight_max reached
    std::atomic<std::uint64_t> answers{0};        // answers posted
    std::atomic<std::uint64_t> temp_failures{0};  // answers posted as temp_failure
    std::atomic<std::uint64_t> timeouts{0};       // ... of which timed out
};

// A lookup on its way to the resolver's thread.
struct DnsRequest {
    std::uint64_t token = 0;
    DnsQuery query = DnsQuery::mx;
    std::string name;
};

class AresLoop;

class DnsResolver {
public:
    explicit DnsResolver(const DnsResolverOptions& options);
    ~DnsResolver();  // stops and joins the thread; answers not yet drained are dropped
    DnsResolver(const DnsResolver&) = delete;
    DnsResolver& operator=(const DnsResolver&) = delete;

    // Parses `servers`, builds the c-ares channel and starts the thread. Errors: dns_bad_server,
    // dns_setup_failed (c-ares could not start: no resolv.conf, no memory), or an eventfd errno.
    Result<void> start();

    // Queue a lookup; its answer carries `token`. dns_busy or dns_invalid_name at once, else ok.
    Result<void> lookup_mx(std::string_view domain, std::uint64_t token);
    Result<void> lookup_addresses(std::string_view host, std::uint64_t token);

    // Readable when answers wait. drain() clears it, then hands every waiting answer to
    // fn(DnsAnswer&&) and returns how many; each answer leaves the in-flight count before fn runs,
    // so fn may look up the next name at once. The thread signals the fd only when the owner has
    // drained since its last signal, so a burst of answers costs one wake-up.
    int completion_fd() const noexcept { return completion_fd_.fd(); }
    template <class Fn>
    std::size_t drain(Fn&& fn) {
        completion_fd_.clear();  // before the flag: an answer posted after this signals again
        completion_signalled_.store(false, std::memory_order_seq_cst);
        std::size_t n = 0;
        while (auto answer = answers_.pop()) {
            --in_flight_;
            ++n;
            fn(std::move(*answer));
        }
        return n;
    }

    std::size_t in_flight() const noexcept { return in_flight_; }
    const DnsResolverStats& stats() const noexcept { return stats_; }
    // The bound of the "Time" paragraph above for `server_count` servers.
    std::uint64_t answer_time_max_ms(std::size_t server_count) const noexcept;

private:
    Result<void> submit(DnsQuery query, std::string_view name, std::uint64_t token);
    void run();
    bool has_room() const;
    void start_queued();
    void wait_and_process();
    void post(DnsAnswer&& answer);  // resolver thread

    const DnsResolverOptions options_;
    SpscQueue<DnsRequest> requests_;
    SpscQueue<DnsAnswer> answers_;
    std::size_t in_flight_ = 0;  // owner side only
    EventFd request_fd_;         // owner -> thread: requests wait, or stop
    EventFd completion_fd_;      // thread -> owner: answers wait
    std::atomic<bool> thread_polling_{false};
    std::atomic<bool> stopping_{false};
    std::atomic<bool> completion_signalled_{false};
    std::unique_ptr<AresLoop> loop_;  // used by the thread only once it runs
    std::vector<pollfd> pollfds_;     // the thread's, rebuilt each turn
    DnsResolverStats stats_;
    std::thread thread_;
};

}  // namespace vmx::net::dns
