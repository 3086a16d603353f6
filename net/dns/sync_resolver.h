// SyncResolver: blocking DNS look-ups for a worker thread (the mail authentication checks, whose
// libraries ask for one record set at a time and wait). One c-ares channel per resolver, one query
// at a time, every wait bounded by the caller's deadline; never used on a shard.
//
// Threads: one resolver belongs to one thread; create it there or before that thread starts.
// Limits: records_per_answer_max records per answer (the rest dropped, `truncated` set), and a TXT
// record of more than txt_record_bytes_max bytes (its strings joined) is dropped as malformed.
// Time: a look-up returns by its deadline whatever c-ares is still waiting for: a query still out
// then is cancelled and answered temp_failure (c-ares ARES_ETIMEOUT).
// Failure policy: every call returns one answer: ok, nodata, nxdomain or temp_failure with a
// reason; the resolver stays usable after any of them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/result.h"
#include "net/dns/dns_types.h"

namespace vmx::net::dns {

enum class RecordType : std::uint8_t { a, aaaa, mx, txt, ptr };

struct SyncAnswer {
    DnsStatus status = DnsStatus::temp_failure;
    std::error_code reason;               // when temp_failure
    bool truncated = false;
    std::vector<IpAddress> addresses;     // a, aaaa
    std::vector<MxRecord> mx;             // mx, by preference
    std::vector<std::string> texts;       // txt: each record's strings joined; ptr: the names
};

struct SyncResolverOptions {
    std::vector<std::string> servers;           // "IP:PORT" each; empty: /etc/resolv.conf
    std::uint32_t query_timeout_ms = 2000;      // a server's first try; c-ares doubles it per round
    std::uint32_t query_tries = 2;
    std::uint32_t records_per_answer_max = 64;
    std::uint32_t txt_record_bytes_max = 8192;  // an RSA 8192 key record is about 1.5 KB
    std::uint16_t edns_udp_bytes = 1232;
};

class SyncResolver {
public:
    using Clock = std::chrono::steady_clock;

    // dns_bad_server, dns_setup_failed.
    static Result<std::unique_ptr<SyncResolver>> create(const SyncResolverOptions& options);
    ~SyncResolver();
    SyncResolver(const SyncResolver&) = delete;
    SyncResolver& operator=(const SyncResolver&) = delete;

    // Blocks until the answer or the deadline. A name that is empty, longer than 253 bytes or holds
    // bytes a query cannot carry is answered temp_failure (dns_invalid_name) without a query.
    SyncAnswer lookup(std::string_view name, RecordType type, Clock::time_point deadline);

private:
    struct Channel;
    explicit SyncResolver(const SyncResolverOptions& options);
    void wait(bool& done, Clock::time_point deadline);

    const SyncResolverOptions options_;
    std::unique_ptr<Channel> channel_;
};

}  // namespace vmx::net::dns
