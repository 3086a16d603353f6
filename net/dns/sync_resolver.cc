// Blocking look-ups on the caller's thread (see sync_resolver.h): one query at a time on a c-ares
// channel, the caller's deadline bounding every wait.
#include "net/dns/sync_resolver.h"

#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <array>

#include "core/c_free.h"
#include "crypto/random.h"
#include "net/dns/ares_answers.h"
#include "net/dns/ares_category.h"
#include "net/dns/ares_servers.h"
#include "net/dns/dns_name.h"
#include "net/errc.h"

namespace vmx::net::dns {
namespace {

constexpr int class_in = 1;

int wire_type(RecordType type) {
    switch (type) {
        case RecordType::a: return 1;      // RFC 1035
        case RecordType::aaaa: return 28;  // RFC 3596
        case RecordType::mx: return 15;
        case RecordType::txt: return 16;
        case RecordType::ptr: return 12;
    }
    return 1;
}

// The bytes a query name may hold: what SPF macros and DKIM selectors can produce is checked here,
// not trusted (a NUL would cut the name short inside c-ares).
bool queryable(std::string_view name) {
    if (name.empty() || name.size() > 253) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        const auto b = static_cast<unsigned char>(c);
        return b > 0x20 && b < 0x7f;
    });
}

struct Pending {
    const SyncResolverOptions* options = nullptr;
    RecordType type = RecordType::a;
    SyncAnswer* answer = nullptr;
    bool done = false;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    auto& p = *static_cast<Pending*>(arg);
    SyncAnswer& a = *p.answer;
    const std::size_t max = p.options->records_per_answer_max;
    PartResult r;
    if (status == ARES_ECANCELLED || status == ARES_EDESTRUCTION) status = ARES_ETIMEOUT;
    switch (p.type) {
        case RecordType::a: r = parse_address_answer(status, abuf, alen, AddressFamily::ipv4, max, a.addresses); break;
        case RecordType::aaaa: r = parse_address_answer(status, abuf, alen, AddressFamily::ipv6, max, a.addresses); break;
        case RecordType::mx: r = parse_mx_answer(status, abuf, alen, max, a.mx); break;
        case RecordType::txt: r = parse_txt_answer(status, abuf, alen, max, p.options->txt_record_bytes_max, a.texts); break;
        case RecordType::ptr: r = parse_ptr_answer(status, abuf, alen, max, a.texts); break;
    }
    a.status = r.status;
    a.reason = r.reason;
    a.truncated = r.truncated;
    if (a.status != DnsStatus::ok) {
        a.addresses.clear();
        a.mx.clear();
        a.texts.clear();
    }
    p.done = true;
}

SyncAnswer failed(std::error_code reason) {
    SyncAnswer a;
    a.status = DnsStatus::temp_failure;
    a.reason = reason;
    return a;
}

}  // namespace

struct SyncResolver::Channel {
    std::unique_ptr<ares_channeldata, CFree<ares_destroy>> handle;
};

SyncResolver::SyncResolver(const SyncResolverOptions& options) : options_(options), channel_(std::make_unique<Channel>()) {}

SyncResolver::~SyncResolver() = default;

Result<std::unique_ptr<SyncResolver>> SyncResolver::create(const SyncResolverOptions& options) {
    if (auto servers = parse_servers(options.servers); !servers) return fail(servers.error());
    if (!library_ready()) return fail(NetErrc::dns_setup_failed);
    std::unique_ptr<SyncResolver> resolver(new SyncResolver(options));
    ares_options o{};
    o.flags = ARES_FLAG_EDNS;
    o.timeout = static_cast<int>(options.query_timeout_ms);
    o.tries = static_cast<int>(options.query_tries);
    o.ednspsz = options.edns_udp_bytes;
    ares_channel channel = nullptr;
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ;
    if (ares_init_options(&channel, &o, mask) != ARES_SUCCESS) return fail(NetErrc::dns_setup_failed);
    resolver->channel_->handle.reset(channel);
    if (auto used = use_servers(channel, options.servers); !used) return fail(used.error());
    return resolver;
}

SyncAnswer SyncResolver::lookup(std::string_view name, RecordType type, Clock::time_point deadline) {
    if (!queryable(name)) return failed(NetErrc::dns_invalid_name);
    if (Clock::now() >= deadline) return failed(ares_error(ARES_ETIMEOUT));
    // A random query id (RFC 5452 9.2); one query at a time, so it cannot clash with another.
    std::array<std::uint8_t, 2> id_bytes{};
    if (auto r = crypto::random_bytes(id_bytes); !r) return failed(r.error());
    const auto id = static_cast<unsigned short>(id_bytes[0] << 8 | id_bytes[1]);
    const std::string owned_name(name);
    unsigned char* query = nullptr;
    int query_bytes = 0;
    if (ares_create_query(owned_name.c_str(), class_in, wire_type(type), id, 1, &query, &query_bytes,
                          options_.edns_udp_bytes) != ARES_SUCCESS)
        return failed(NetErrc::dns_invalid_name);
    SyncAnswer answer;
    Pending pending{&options_, type, &answer, false};
    ares_send(channel_->handle.get(), query, query_bytes, &on_answer, &pending);
    ares_free_string(query);
    wait(pending.done, deadline);
    if (!pending.done) {
        ares_cancel(channel_->handle.get());  // answers the query (as a timeout) before it returns
        if (!pending.done) return failed(ares_error(ARES_ETIMEOUT));
    }
    return answer;
}

// poll() on c-ares's sockets until the query is answered or the deadline passes.
void SyncResolver::wait(bool& done, Clock::time_point deadline) {
    ares_channel channel = channel_->handle.get();
    while (!done) {
        const auto now = Clock::now();
        if (now >= deadline) return;
        ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
        const int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
        std::array<pollfd, ARES_GETSOCK_MAXNUM> fds{};
        nfds_t n = 0;
        for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
            const short events = static_cast<short>((ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
                                                    (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0));
            if (events != 0) fds[n++] = pollfd{sockets[i], events, 0};
        }
        auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
        timeval cap{static_cast<time_t>(left_ms / 1000), static_cast<suseconds_t>((left_ms % 1000) * 1000)};
        timeval wait_tv{};
        const timeval* next = ares_timeout(channel, &cap, &wait_tv);
        const long long wait_ms = static_cast<long long>(next->tv_sec) * 1000 + (next->tv_usec + 999) / 1000;
        if (::poll(fds.data(), n, static_cast<int>(std::min<long long>(wait_ms, left_ms))) < 0 && errno != EINTR) return;
        for (nfds_t i = 0; i < n; ++i) {
            const bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
            const bool writable = (fds[i].revents & POLLOUT) != 0;
            if (readable || writable)
                ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD, writable ? fds[i].fd : ARES_SOCKET_BAD);
        }
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts and retries
    }
}

}  // namespace vmx::net::dns
