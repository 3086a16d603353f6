// The c-ares channel and its queries (see ares_loop.h). Every function runs on the resolver's
// thread, except create(), which runs before that thread starts.
#include "net/dns/ares_loop.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

#include "core/socket_address.h"
#include "crypto/random.h"
#include "net/dns/ares_answers.h"
#include "net/dns/ares_servers.h"
#include "net/errc.h"

namespace vmx::net::dns {
namespace {

constexpr int type_a = 1;      // RFC 1035
constexpr int type_mx = 15;    // RFC 1035
constexpr int type_aaaa = 28;  // RFC 3596
constexpr int class_in = 1;
constexpr unsigned char ad_bit = 0x20;


}  // namespace

// One lookup inside c-ares: an MX lookup has one part, an addresses lookup two (AAAA, A).
struct AresLoop::Part {
    Pending* owner = nullptr;
    AddressFamily family = AddressFamily::ipv6;
    PartResult result;
    std::uint16_t query_id = 0;
    bool holds_id = false;
};

struct AresLoop::Pending {
    AresLoop* loop = nullptr;
    DnsAnswer answer;
    std::string name;
    std::array<Part, 2> parts;
    int outstanding = 0;
    bool destroyed = false;  // the channel is going away: drop, do not post
};

AresLoop::AresLoop(const DnsResolverOptions& options, Post post) : options_(options), post_(std::move(post)) {}

Result<std::unique_ptr<AresLoop>> AresLoop::create(const DnsResolverOptions& options, Post post) {
    auto servers = parse_servers(options.servers);
    if (!servers) return fail(servers.error());
    if (!library_ready()) return fail(NetErrc::dns_setup_failed);
    std::unique_ptr<AresLoop> loop(new AresLoop(options, std::move(post)));
    ares_options o{};
    o.flags = ARES_FLAG_EDNS;
    o.timeout = static_cast<int>(options.query_timeout_ms);
    o.tries = static_cast<int>(options.query_tries);
    o.ednspsz = options.edns_udp_bytes;
    o.sock_state_cb = &AresLoop::on_socket_state;
    o.sock_state_cb_data = loop.get();
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB;
    ares_channel channel = nullptr;
    if (ares_init_options(&channel, &o, mask) != ARES_SUCCESS) return fail(NetErrc::dns_setup_failed);
    loop->channel_.reset(channel);
    for (std::size_t i = 0; i + 1 < servers->size(); ++i) (*servers)[i].next = &(*servers)[i + 1];
    if (!servers->empty() && ares_set_servers_ports(channel, servers->data()) != ARES_SUCCESS)
        return fail(NetErrc::dns_setup_failed);
    return loop;
}

void AresLoop::start(DnsRequest&& request) {
    auto pending = std::make_unique<Pending>();
    pending->loop = this;
    pending->answer.token = request.token;
    pending->answer.query = request.query;
    pending->name = std::move(request.name);
    for (Part& part : pending->parts) part.owner = pending.get();
    Pending* p = pending.release();  // freed by the last part's on_answer
    if (request.query == DnsQuery::mx) {
        p->outstanding = 1;
        send(p->parts[0], type_mx);
        return;
    }
    p->outstanding = 2;  // both set before either send: a send may answer inline
    p->parts[0].family = AddressFamily::ipv6;
    p->parts[1].family = AddressFamily::ipv4;
    Part& second = p->parts[1];
    send(p->parts[0], type_aaaa);
    send(second, type_a);
}

// Builds the query ourselves (not ares_query) to set AD in it and to read AD in the answer.
void AresLoop::send(Part& part, int type) {
    auto id = take_query_id();
    if (!id) {
        part.result.status = DnsStatus::temp_failure;
        part.result.reason = id.error();
        return complete(part);
    }
    part.query_id = *id;
    part.holds_id = true;
    ++queries_in_flight_;
    unsigned char* query = nullptr;
    int query_bytes = 0;
    const int built = ares_create_query(part.owner->name.c_str(), class_in, type, *id, 1, &query, &query_bytes,
                                        options_.edns_udp_bytes);
    if (built != ARES_SUCCESS) return on_answer(&part, built, 0, nullptr, 0);
    query[3] |= ad_bit;  // RFC 6840 5.7: ask a validating resolver to report AD
    ares_send(channel_.get(), query, query_bytes, &AresLoop::on_answer, &part);
    ares_free_string(query);
}

// A random id that no query in flight holds. At most 2 * requests_in_flight_max ids are held, so a
// free one turns up within a few draws.
Result<std::uint16_t> AresLoop::take_query_id() {
    for (;;) {
        if (id_pool_left_ == 0) {
            auto bytes = std::as_writable_bytes(std::span(id_pool_));
            auto filled = crypto::random_bytes(
                std::span(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size()));
            if (!filled) return fail(filled.error());
            id_pool_left_ = id_pool_.size();
        }
        const std::uint16_t id = id_pool_[--id_pool_left_];
        if (ids_in_use_[id]) continue;
        ids_in_use_[id] = true;
        return id;
    }
}

void AresLoop::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    Part& part = *static_cast<Part*>(arg);
    Pending& pending = *part.owner;
    const std::size_t records_max = pending.loop->options_.records_per_answer_max;
    if (status == ARES_EDESTRUCTION) pending.destroyed = true;
    else if (pending.answer.query == DnsQuery::mx)
        part.result = parse_mx_answer(status, abuf, alen, records_max, pending.answer.mx);
    else
        part.result = parse_address_answer(status, abuf, alen, part.family, records_max, pending.answer.addresses);
    pending.loop->complete(part);
}

void AresLoop::complete(Part& part) {
    if (part.holds_id) {
        ids_in_use_[part.query_id] = false;
        --queries_in_flight_;
    }
    part.holds_id = false;
    Pending& pending = *part.owner;
    if (--pending.outstanding == 0) finish(pending);
}

void AresLoop::finish(Pending& pending) {
    const std::unique_ptr<Pending> owned(&pending);
    if (pending.destroyed) return;
    DnsAnswer& answer = pending.answer;
    PartResult r = pending.parts[0].result;
    if (answer.query == DnsQuery::addresses) {
        // AAAA parsed into the vector first, so IPv6 comes first whatever order the answers came in.
        std::stable_partition(answer.addresses.begin(), answer.addresses.end(),
                              [](const IpAddress& a) { return a.family == AddressFamily::ipv6; });
        r = combine_address_parts(pending.parts[0].result, pending.parts[1].result, !answer.addresses.empty());
    }
    answer.status = r.status;
    answer.reason = r.reason;
    answer.secure = r.secure;
    answer.truncated = r.truncated;
    if (answer.status != DnsStatus::ok) {
        answer.mx.clear();
        answer.addresses.clear();
    }
    post_(std::move(answer));
}

void AresLoop::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto& sockets = static_cast<AresLoop*>(data)->sockets_;
    auto it = std::find_if(sockets.begin(), sockets.end(), [fd](const Watched& w) { return w.fd == fd; });
    if (!readable && !writable) {
        if (it != sockets.end()) sockets.erase(it);
        return;
    }
    if (it == sockets.end()) it = sockets.insert(sockets.end(), Watched{fd, false, false});
    it->read = readable != 0;
    it->write = writable != 0;
}

void AresLoop::add_pollfds(std::vector<pollfd>& out) const {
    for (const Watched& w : sockets_) {
        const short events = static_cast<short>((w.read ? POLLIN : 0) | (w.write ? POLLOUT : 0));
        out.push_back(pollfd{w.fd, events, 0});
    }
}

int AresLoop::timeout_ms(int cap_ms) const {
    timeval wait{};
    const timeval* next = ares_timeout(channel_.get(), nullptr, &wait);
    if (next == nullptr) return cap_ms;
    const long long ms = static_cast<long long>(next->tv_sec) * 1000 + (next->tv_usec + 999) / 1000;
    if (cap_ms >= 0 && ms > cap_ms) return cap_ms;
    return static_cast<int>(ms);
}

void AresLoop::process(std::span<const pollfd> ready) {
    for (const pollfd& p : ready) {
        const bool readable = (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
        const bool writable = (p.revents & POLLOUT) != 0;
        if (!readable && !writable) continue;
        ares_process_fd(channel_.get(), readable ? p.fd : ARES_SOCKET_BAD, writable ? p.fd : ARES_SOCKET_BAD);
    }
    ares_process_fd(channel_.get(), ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
}

}  // namespace vmx::net::dns
