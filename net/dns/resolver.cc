// DnsResolver (see resolver.h): the owner's side (lookups, limits) and the thread's loop, which
// sleeps in poll() on c-ares's sockets and the request eventfd until c-ares's next deadline.
#include "net/dns/resolver.h"

#include <poll.h>
#include <pthread.h>

#include <algorithm>
#include <bit>

#include "net/dns/ares_category.h"
#include "net/dns/ares_loop.h"
#include "net/dns/dns_name.h"
#include "net/errc.h"

namespace vmx::net::dns {
namespace {

std::size_t queue_slots(std::uint32_t in_flight_max) {
    return std::bit_ceil(std::max<std::size_t>(in_flight_max, 2));
}

}  // namespace

DnsResolver::DnsResolver(const DnsResolverOptions& options)
    : options_(options), requests_(queue_slots(options.requests_in_flight_max)),
      answers_(queue_slots(options.requests_in_flight_max)) {
    VMX_ASSERT(options.requests_in_flight_max >= 1 && options.query_tries >= 1);
    VMX_ASSERT(options.records_per_answer_max >= 1 && options.query_timeout_ms >= 1);
    VMX_ASSERT(options.queries_on_wire_max >= 2);  // room for an addresses lookup's two queries
}

DnsResolver::~DnsResolver() {
    stopping_.store(true, std::memory_order_seq_cst);
    if (thread_.joinable()) {
        request_fd_.signal();
        thread_.join();
    }
    loop_.reset();  // ends what c-ares still runs; those answers are dropped (see resolver.h)
}

Result<void> DnsResolver::start() {
    VMX_ASSERT(!thread_.joinable());
    auto requests = EventFd::create();
    if (!requests) return fail(requests.error());
    auto completions = EventFd::create();
    if (!completions) return fail(completions.error());
    auto loop = AresLoop::create(options_, [this](DnsAnswer&& a) { post(std::move(a)); });
    if (!loop) return fail(loop.error());
    request_fd_ = std::move(*requests);
    completion_fd_ = std::move(*completions);
    loop_ = std::move(*loop);
    thread_ = std::thread([this] { run(); });
    pthread_setname_np(thread_.native_handle(), options_.thread_name.substr(0, 15).c_str());
    return {};
}

Result<void> DnsResolver::lookup_mx(std::string_view domain, std::uint64_t token) {
    return submit(DnsQuery::mx, domain, token);
}

Result<void> DnsResolver::lookup_addresses(std::string_view host, std::uint64_t token) {
    return submit(DnsQuery::addresses, host, token);
}

Result<void> DnsResolver::submit(DnsQuery query, std::string_view name, std::uint64_t token) {
    VMX_ASSERT(thread_.joinable());
    if (!is_query_name(name, options_.name_bytes_max)) return fail(NetErrc::dns_invalid_name);
    if (in_flight_ >= options_.requests_in_flight_max) {
        stats_.busy.fetch_add(1, std::memory_order_relaxed);
        return fail(NetErrc::dns_busy);
    }
    DnsRequest request{token, query, std::string(name)};
    const bool queued = requests_.push(request);
    VMX_ASSERT(queued);  // in_flight_ bounds both queues
    ++in_flight_;
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
    // Pairs with the fence in sleep_until_work: either the thread sees the request, or we see it polling.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (thread_polling_.load(std::memory_order_seq_cst)) request_fd_.signal();
    return {};
}

std::uint64_t DnsResolver::answer_time_max_ms(std::size_t server_count) const noexcept {
    const std::uint64_t rounds = (std::uint64_t{1} << std::min<std::uint32_t>(options_.query_tries, 32)) - 1;
    return server_count * options_.query_timeout_ms * rounds;
}

// --- the resolver's thread -------------------------------------------------------------------------

void DnsResolver::run() {
    while (!stopping_.load(std::memory_order_seq_cst)) {
        start_queued();
        wait_and_process();
    }
}

bool DnsResolver::has_room() const { return loop_->queries_in_flight() + 2 <= options_.queries_on_wire_max; }

// Starts queued lookups while the wire has room (queries_on_wire_max).
void DnsResolver::start_queued() {
    while (has_room()) {
        auto request = requests_.pop();
        if (!request) return;
        loop_->start(std::move(*request));
    }
}

// Polls the request eventfd and c-ares's sockets until one is ready or c-ares's next deadline, then
// lets c-ares read, write and expire. It announces that it polls first, and a lookup queued after
// the announcement rings the eventfd.
void DnsResolver::wait_and_process() {
    thread_polling_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    // Pairs with the fence in submit(): a lookup pushed before the announcement is seen here.
    bool started = false;
    if (has_room()) {
        if (auto request = requests_.pop()) {
            loop_->start(std::move(*request));
            started = true;
        }
    }
    const bool idle = !started && !stopping_.load(std::memory_order_seq_cst);
    const int wait_ms = idle ? loop_->timeout_ms(-1) : 0;
    pollfds_.clear();  // after the start above, so a socket it opened is watched too
    pollfds_.push_back(pollfd{request_fd_.fd(), POLLIN, 0});
    loop_->add_pollfds(pollfds_);
    const int ready = ::poll(pollfds_.data(), pollfds_.size(), wait_ms);
    thread_polling_.store(false, std::memory_order_relaxed);
    if (ready > 0 && (pollfds_[0].revents & POLLIN)) request_fd_.clear();
    loop_->process(std::span<const pollfd>(pollfds_).subspan(1));
}

void DnsResolver::post(DnsAnswer&& answer) {
    stats_.answers.fetch_add(1, std::memory_order_relaxed);
    if (answer.status == DnsStatus::temp_failure) {
        stats_.temp_failures.fetch_add(1, std::memory_order_relaxed);
        if (answer.reason == ares_error(ARES_ETIMEOUT)) stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
    }
    const bool queued = answers_.push(answer);
    VMX_ASSERT(queued);  // at most requests_in_flight_max answers wait
    if (!completion_signalled_.exchange(true, std::memory_order_seq_cst)) completion_fd_.signal();
}

}  // namespace vmx::net::dns
