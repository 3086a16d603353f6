// AresLoop: the c-ares channel of one DnsResolver and the sockets c-ares asks it to watch. Built on
// the owner's thread before the resolver's thread starts, then touched by that thread only.
// Every query it starts ends in exactly one call of `post`, except those still running when it is
// destroyed: ares_destroy ends them with ARES_EDESTRUCTION and their answers are dropped.
#pragma once

#include <ares.h>
#include <poll.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "core/c_free.h"
#include "core/result.h"
#include "net/dns/resolver.h"

namespace vmx::net::dns {

class AresLoop {
public:
    using Post = std::function<void(DnsAnswer&&)>;

    // dns_bad_server for a server that is not "IP:PORT"; dns_setup_failed when c-ares refuses.
    static Result<std::unique_ptr<AresLoop>> create(const DnsResolverOptions& options, Post post);
    AresLoop(const AresLoop&) = delete;
    AresLoop& operator=(const AresLoop&) = delete;
    ~AresLoop() = default;  // channel_ goes first (declared last): its callbacks still see sockets_

    void start(DnsRequest&& request);
    // DNS queries sent and not yet answered.
    std::size_t queries_in_flight() const noexcept { return queries_in_flight_; }
    // Appends a pollfd for each socket c-ares watches.
    void add_pollfds(std::vector<pollfd>& out) const;
    // Milliseconds until c-ares's next query deadline, at most cap_ms; -1 when nothing is pending.
    int timeout_ms(int cap_ms) const;
    // Reads and writes the sockets that poll() reported, then expires the queries past their time.
    void process(std::span<const pollfd> ready);

private:
    struct Watched {
        ares_socket_t fd;
        bool read;
        bool write;
    };
    struct Pending;
    struct Part;

    AresLoop(const DnsResolverOptions& options, Post post);
    void send(Part& part, int type);
    Result<std::uint16_t> take_query_id();
    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
    static void on_answer(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
    void complete(Part& part);
    void finish(Pending& pending);

    const DnsResolverOptions options_;
    Post post_;
    std::vector<Watched> sockets_;
    // ares_send takes the query id from our buffer and matches answers by it: ids must be unique
    // among the queries in flight (a clash drops an answer) and unpredictable (RFC 5452 9.2).
    std::vector<bool> ids_in_use_ = std::vector<bool>(65536);
    std::array<std::uint16_t, 64> id_pool_{};  // random ids from the kernel, used from the back
    std::size_t id_pool_left_ = 0;
    std::size_t queries_in_flight_ = 0;
    std::unique_ptr<ares_channeldata, CFree<ares_destroy>> channel_;
};

}  // namespace vmx::net::dns
