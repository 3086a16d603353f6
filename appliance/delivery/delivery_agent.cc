// The outbound delivery agent of one shard (see delivery_agent.h).
#include "appliance/delivery/delivery_agent.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "appliance/mailstore/inbound_queue.h"
#include "appliance/mailstore/queue_entries.h"
#include "core/errc.h"
#include "core/log.h"
#include "net/dns/mx_plan.h"
#include "store/errc.h"
#include "store/queue.h"

namespace vmx {
namespace {

using smtp::Reply;
using smtp::ReplyFrom;
using RecipientReplies = std::vector<std::pair<std::size_t, Reply>>;
using net::dns::DnsAnswer;
using net::dns::DnsQuery;

constexpr std::size_t recover_batch = 1000;
constexpr std::uint64_t destination_sweep_ms = 60'000;

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& ch : out)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
}

std::string domain_of(std::string_view address) {
    const auto at = address.rfind('@');
    return at == std::string_view::npos ? std::string() : lower(address.substr(at + 1));
}

bool has_non_ascii(std::string_view text) {
    return std::any_of(text.begin(), text.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; });
}

std::string reply_text(const Reply& r) { return fmt::format("{} {}", r.code, r.text); }

Reply local_reply(int code, std::string text) { return Reply{code, std::move(text), ReplyFrom::client}; }

}  // namespace

// ---- state ----------------------------------------------------------------------------------------

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
    std::uint64_t opened_ms = 0;
    bool counted_starting = true;         // still counted in its destination's `starting`
};

// ---- set-up -------------------------------------------------------------------------------------

namespace {

net::dns::DnsResolverOptions resolver_options(const OutboundOptions& options, std::uint32_t shard) {
    net::dns::DnsResolverOptions r;
    r.servers = options.resolvers;
    r.thread_name = fmt::format("vmx-dns-{}", shard);
    return r;
}

}  // namespace

DeliveryAgent::DeliveryAgent(Shard& shard, ShardStore& store, std::uint32_t service, OutboundOptions options)
    : shard_(shard),
      store_(store),
      service_(service),
      options_(std::move(options)),
      resolver_(resolver_options(options_, shard.id())),
      random_state_(0x9e3779b97f4a7c15ull ^ (static_cast<std::uint64_t>(std::time(nullptr)) << 8) ^ shard.id()) {
    relay_auth_ = options_.relay_auth;
}

DeliveryAgent::~DeliveryAgent() = default;

Result<void> DeliveryAgent::start() {
    if (auto r = resolver_.start(); !r) {
        log_event(LogLevel::error, "outbound.dns_unavailable", "error=\"{}\"", r.error().message());
        return r;
    }
    resolver_running_ = true;
    shard_.schedule(destination_sweep_ms, [this](Shard&) { sweep_destinations(); });
    shard_.watch_readable(resolver_.completion_fd(), [this](Shard&) {
        resolver_.drain([this](net::dns::DnsAnswer&& answer) {
            auto it = lookups_.find(answer.token);
            if (it == lookups_.end()) return;
            auto fn = std::move(it->second);
            lookups_.erase(it);
            fn(std::move(answer));
        });
    });
    return {};
}

std::int64_t DeliveryAgent::now_unix() const {
    return options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
}

std::string DeliveryAgent::queue_id(const Key& key) const {
    return queue_id_of(store::QueueKind::smtp_out, key.first, key.second);
}

// ---- entries --------------------------------------------------------------------------------------

void DeliveryAgent::add(std::uint32_t segment, std::uint64_t id, store::Envelope envelope,
                        std::shared_ptr<const std::string> body) {
    auto entry = std::make_unique<Entry>();
    entry->key = {segment, id};
    entry->in_job.assign(envelope.recipients.size(), false);
    entry->envelope = std::move(envelope);
    keep_body(*entry, std::move(body));
    const Key key = entry->key;
    entries_[key] = std::move(entry);
    stats_.queued.store(entries_.size(), std::memory_order_relaxed);
    schedule_entry(key);
}

void DeliveryAgent::recover() {
    std::size_t found = 0;
    for (std::uint32_t segment : store_.envs().segments()) {
        auto pending = [&](store::QueuedEntry&& q) {
            auto entry = std::make_unique<Entry>();
            entry->key = {segment, q.id};
            entry->in_job.assign(q.envelope.recipients.size(), false);
            entry->envelope = std::move(q.envelope);
            entries_[entry->key] = std::move(entry);
            ++found;
        };
        auto unreadable = [segment](std::uint64_t id, std::error_code error) {
            log_event(LogLevel::error, "outbound.entry_unreadable", "queue_id={} error=\"{}\"",
                      queue_id_of(store::QueueKind::smtp_out, segment, id), error.message());
        };
        if (auto r = for_each_pending(store_, segment, recover_batch, pending, unreadable, store::QueueKind::smtp_out); !r)
            log_event(LogLevel::error, "outbound.recover_failed", "segment={} error=\"{}\"", segment, r.error().message());
    }
    stats_.queued.store(entries_.size(), std::memory_order_relaxed);
    if (found > 0) log_event(LogLevel::info, "outbound.recovered", "entries={}", found);
    std::vector<Key> keys;
    for (const auto& [key, entry] : entries_) keys.push_back(key);
    for (const Key& key : keys) schedule_entry(key);
}

// Every recipient that is due and not in a job goes into a job of its domain's destination.
void DeliveryAgent::schedule_entry(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second->removed) return;
    Entry& entry = *it->second;
    const std::int64_t now = now_unix();
    // One job per destination: a message to ten domains behind one relayhost goes there once.
    std::map<std::string, Job> by_destination;
    for (std::size_t i = 0; i < entry.envelope.recipients.size(); ++i) {
        const store::Recipient& r = entry.envelope.recipients[i];
        if (r.done() || entry.in_job[i]) continue;
        if (r.state == store::RecipientState::failed_temp && r.next_try_unix > now) continue;
        if (r.user_id != 0) continue;  // local recipients of a bounce never come here
        Job& job = by_destination[destination_for(domain_of(r.address)).name];
        job.entry = key;
        job.recipients.push_back(i);
        entry.in_job[i] = true;
    }
    for (auto& [name, job] : by_destination) {
        // One RCPT list per transaction: split what the client engine would refuse.
        Destination& dest = *destinations_.find(name)->second;
        for (std::size_t at = 0; at < job.recipients.size(); at += options_.client.recipients_max) {
            Job part{job.entry, {}};
            const std::size_t end = std::min(job.recipients.size(), at + options_.client.recipients_max);
            part.recipients.assign(job.recipients.begin() + static_cast<std::ptrdiff_t>(at),
                                   job.recipients.begin() + static_cast<std::ptrdiff_t>(end));
            ++entry.jobs;
            dest.queue.push_back(std::move(part));
        }
        pump(dest);
    }
    arm_retry(entry);
}

void DeliveryAgent::arm_retry(Entry& entry) {
    if (entry.removed) return;
    std::int64_t next = INT64_MAX;
    for (std::size_t i = 0; i < entry.envelope.recipients.size(); ++i) {
        const store::Recipient& r = entry.envelope.recipients[i];
        if (r.state == store::RecipientState::failed_temp && !entry.in_job[i]) next = std::min(next, r.next_try_unix);
    }
    // An armed retry that comes no later stays; an earlier one replaces it (the old one finds
    // retry_at_unix changed and does nothing).
    if (next == INT64_MAX || (entry.retry_armed && entry.retry_at_unix <= next)) return;
    entry.retry_armed = true;
    entry.retry_at_unix = next;
    const std::int64_t delay_s = std::max<std::int64_t>(next - now_unix(), 0);
    shard_.schedule(static_cast<std::uint64_t>(delay_s) * 1000 + 1, [this, key = entry.key, next](Shard&) {
        auto it = entries_.find(key);
        if (it == entries_.end() || !it->second->retry_armed || it->second->retry_at_unix != next) return;
        it->second->retry_armed = false;
        schedule_entry(key);
    });
}

std::shared_ptr<const std::string> DeliveryAgent::body_of(Entry& entry) {
    if (entry.body) return entry.body;
    auto body = load_queued_body(store_, entry.key.first, entry.key.second, store::QueueKind::smtp_out);
    if (!body) {
        log_event(LogLevel::error, "outbound.body_unreadable", "queue_id={} error=\"{}\"", queue_id(entry.key),
                  body.error().message());
        return nullptr;
    }
    keep_body(entry, std::make_shared<const std::string>(body->begin(), body->end()));
    return entry.body ? entry.body : std::make_shared<const std::string>(body->begin(), body->end());
}

// Bodies stay in memory between queueing and sending while they fit body_cache_bytes_max; the
// rest are read back from the queue when their connection is ready for them.
void DeliveryAgent::keep_body(Entry& entry, std::shared_ptr<const std::string> body) {
    drop_body(entry);
    if (!body || cached_body_bytes_ + body->size() > options_.body_cache_bytes_max) return;
    cached_body_bytes_ += body->size();
    entry.body = std::move(body);
}

void DeliveryAgent::drop_body(Entry& entry) {
    if (!entry.body) return;
    cached_body_bytes_ -= entry.body->size();
    entry.body.reset();
}

// ---- destinations -------------------------------------------------------------------------------

DeliveryAgent::Destination& DeliveryAgent::destination_for(std::string_view domain) {
    std::string name;
    std::optional<NextHop> hop;
    bool relay = false;
    if (auto route = options_.routes.find(domain); route != options_.routes.end()) {
        name = fmt::format("route:{}", domain);
        hop = route->second;
    } else if (options_.relayhost) {
        name = "relayhost";
        hop = options_.relayhost;
        relay = true;
    } else {
        name = fmt::format("mx:{}", domain);
    }
    auto it = destinations_.find(name);
    if (it != destinations_.end()) return *it->second;
    auto dest = std::make_unique<Destination>();
    dest->name = name;
    dest->domain = std::string(domain);
    dest->hop = hop;
    dest->relay = relay;
    auto policy = options_.tls_policies.find(domain);
    dest->tls = policy != options_.tls_policies.end() ? policy->second : options_.tls;
    // A password never crosses an unencrypted connection: the relayhost with AUTH needs TLS.
    // The relayhost's certificate is checked too (relay_tls: verify unless the admin chose encrypt),
    // or whoever redirects its traffic would receive the password and send as the appliance.
    if (relay && !options_.relay_user.empty() && dest->tls < options_.relay_tls) dest->tls = options_.relay_tls;
    dest->limit = options_.concurrency_initial;
    Destination& ref = *dest;
    destinations_.emplace(name, std::move(dest));
    return ref;
}

void DeliveryAgent::pump(Destination& dest, Targets targets) {
    if (dest.queue.empty() || shard_.stopping()) return;
    const std::uint64_t now = shard_.now_ms();
    if (dest.rest_until_ms > now) {
        if (!dest.rest_timer) {
            dest.rest_timer = true;
            shard_.schedule(dest.rest_until_ms - now, [this, name = dest.name](Shard&) {
                auto it = destinations_.find(name);
                if (it == destinations_.end()) return;
                it->second->rest_timer = false;
                pump(*it->second);
            });
        }
        return;
    }
    if (dest.relay && !options_.relay_user.empty() && !relay_auth_) {
        // Without its password the smarthost would refuse for good what only waits for the admin.
        return fail_queue(dest, local_reply(451, "4.7.0 relayhost password not set (vaultmx secret set relayhost)"),
                          Permanence::temporary);
    }
    if (dest.targets.empty() || (dest.plan_until_ms <= now && targets == Targets::check_age)) {
        if (!dest.resolving) resolve(dest);
        return;
    }
    while (dest.sessions < dest.limit && dest.starting < dest.queue.size() && sessions_.size() < options_.connections_max)
        if (!open_session(dest, 0, TlsAttempt::when_offered)) break;
    if (dest.starting < dest.queue.size() && sessions_.size() >= options_.connections_max && !dest.starved) {
        // Every connection of the shard is taken: wait for one to end (session_ended).
        dest.starved = true;
        starved_.push_back(dest.name);
    }
}

// A connection ended: destinations that waited for one may open theirs.
void DeliveryAgent::pump_starved() {
    while (!starved_.empty() && sessions_.size() < options_.connections_max) {
        const std::string name = std::move(starved_.front());
        starved_.pop_front();
        auto it = destinations_.find(name);
        if (it == destinations_.end()) continue;
        it->second->starved = false;
        pump(*it->second);
    }
}

// Destinations nobody uses any more are forgotten (their DNS answers and learned concurrency with
// them), so a shard that has written to a million domains does not keep a million entries.
void DeliveryAgent::sweep_destinations() {
    const std::uint64_t now = shard_.now_ms();
    std::erase_if(destinations_, [now](const auto& item) {
        const Destination& d = *item.second;
        return d.queue.empty() && d.sessions == 0 && !d.resolving && !d.rest_timer && !d.starved &&
               d.rest_until_ms <= now && d.plan_until_ms <= now;
    });
    shard_.schedule(destination_sweep_ms, [this](Shard&) { sweep_destinations(); });
}

// The destination's targets, from DNS (or a literal); the jobs wait meanwhile.
void DeliveryAgent::resolve(Destination& dest) {
    dest.resolving = true;
    if (dest.hop) return resolve_addresses(dest.name, {dest.hop->host}, dest.hop->port);
    auto asked = lookup(DnsQuery::mx, dest.domain, [this, name = dest.name, domain = dest.domain](DnsAnswer&& answer) {
        on_mx_answer(name, domain, answer);
    });
    if (!asked) plan_failed(dest.name, local_reply(451, "4.4.3 DNS unavailable"), Permanence::temporary);
}

void DeliveryAgent::on_mx_answer(const std::string& name, const std::string& domain, const DnsAnswer& answer) {
    auto plan = net::dns::plan_mx(domain, answer.status, answer.mx, net::dns::MxPlanLimits{}, [this] {
        random_state_ ^= random_state_ << 13;  // xorshift: only the order of equal preferences rides on it
        random_state_ ^= random_state_ >> 7;
        random_state_ ^= random_state_ << 17;
        return random_state_;
    });
    using A = net::dns::MxPlanAction;
    if (plan.action == A::bounce) {
        if (plan.reason == net::dns::MxPlanReason::null_mx)
            return plan_failed(name, local_reply(556, "5.1.10 the domain accepts no mail (null MX)"), Permanence::permanent);
        return plan_failed(name, local_reply(550, fmt::format("5.1.2 {}", net::dns::to_string(plan.reason))),
                           Permanence::permanent);
    }
    if (plan.action == A::defer) {
        ++stats_.dns_failures;
        return plan_failed(name, local_reply(451, fmt::format("4.4.3 {}", net::dns::to_string(plan.reason))),
                           Permanence::temporary);
    }
    std::vector<std::string> hosts;
    for (const auto& h : plan.hosts) hosts.push_back(h.name);
    resolve_addresses(name, std::move(hosts), options_.mx_port);
}

// The addresses of `hosts`, in their order (each host's IPv6 first), gathered into the destination's
// targets once every lookup has answered. Literals need no lookup.
void DeliveryAgent::resolve_addresses(const std::string& name, std::vector<std::string> hosts, std::uint16_t port) {
    struct Gather {
        std::vector<std::string> hosts;
        std::vector<std::vector<SocketAddress>> addresses;
        std::size_t left = 0;
        bool any_temporary = false;
    };
    auto gather = std::make_shared<Gather>();
    gather->hosts = std::move(hosts);
    gather->addresses.resize(gather->hosts.size());
    gather->left = gather->hosts.size();
    auto finish = [this, name, gather] {
        std::vector<Target> targets;
        for (std::size_t h = 0; h < gather->hosts.size(); ++h)
            for (const SocketAddress& a : gather->addresses[h]) targets.push_back({gather->hosts[h], a});
        if (!targets.empty()) return plan_ready(name, std::move(targets));
        if (gather->any_temporary) return plan_failed(name, local_reply(451, "4.4.3 address lookup failed"), Permanence::temporary);
        plan_failed(name, local_reply(550, "5.1.2 no address for the receiving host"), Permanence::permanent);
    };
    for (std::size_t h = 0; h < gather->hosts.size(); ++h) {
        const std::string& host = gather->hosts[h];
        const bool v6 = host.find(':') != std::string::npos;
        if (auto literal = parse_socket_address(v6 ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port))) {
            gather->addresses[h].push_back(*literal);
            --gather->left;
            continue;
        }
        auto asked = lookup(DnsQuery::addresses, host, [this, gather, h, port, finish](DnsAnswer&& answer) {
            if (answer.status == net::dns::DnsStatus::ok) {
                for (const auto& ip : answer.addresses) gather->addresses[h].push_back(ip.with_port(port));
            } else if (answer.status == net::dns::DnsStatus::temp_failure) {
                gather->any_temporary = true;
                ++stats_.dns_failures;
            }
            if (--gather->left == 0) finish();
        });
        if (!asked) {
            gather->any_temporary = true;
            --gather->left;
        }
    }
    if (gather->left == 0) finish();
}

Result<void> DeliveryAgent::lookup(DnsQuery query, const std::string& name, std::function<void(DnsAnswer&&)> fn) {
    if (!resolver_running_) return fail(CoreErrc::closed);
    const std::uint64_t token = next_lookup_++;
    auto asked = query == DnsQuery::mx ? resolver_.lookup_mx(name, token) : resolver_.lookup_addresses(name, token);
    if (!asked) return asked;
    lookups_.emplace(token, std::move(fn));
    return {};
}

void DeliveryAgent::plan_ready(const std::string& name, std::vector<Target> targets) {
    auto it = destinations_.find(name);
    if (it == destinations_.end()) return;
    Destination& dest = *it->second;
    dest.resolving = false;
    dest.targets = std::move(targets);
    dest.plan_until_ms = shard_.now_ms() + options_.dns_cache_ms;
    pump(dest, Targets::just_resolved);
}

void DeliveryAgent::plan_failed(const std::string& name, const Reply& why, Permanence permanence) {
    auto it = destinations_.find(name);
    if (it == destinations_.end()) return;
    Destination& dest = *it->second;
    dest.resolving = false;
    log_event(LogLevel::info, "outbound.no_route", "destination={} reply=\"{}\"", dest.name, reply_text(why));
    fail_queue(dest, why, permanence);
}

// Every waiting job of the destination fails with `why`.
void DeliveryAgent::fail_queue(Destination& dest, const Reply& why, Permanence permanence) {
    const bool permanent = permanence == Permanence::permanent;
    std::deque<Job> jobs = std::move(dest.queue);
    dest.queue.clear();
    for (Job& job : jobs) {
        RecipientReplies failed;
        for (std::size_t i = 0; i < job.recipients.size(); ++i) failed.emplace_back(i, why);
        finish_job(std::move(job), {}, permanent ? RecipientReplies{} : failed, permanent ? failed : RecipientReplies{}, "",
                   [] {});
    }
}

// ---- sessions -----------------------------------------------------------------------------------

// Opens a connection to one of the destination's targets: `target`, or the first after it whose
// socket can be made. False when none could be opened now (the waiting jobs are then deferred if
// nothing else works for them), so a caller's loop stops.
bool DeliveryAgent::open_session(Destination& dest, std::size_t target, TlsAttempt tls_attempt) {
    for (; target < dest.targets.size(); ++target) {
        const Target& t = dest.targets[target];
        auto s = std::make_unique<Session>();
        s->id = next_session_++;
        s->destination = dest.name;
        s->target = target;
        s->tls_possible = tls_attempt == TlsAttempt::when_offered;
        s->opened_ms = s->progress_ms = shard_.now_ms();
        smtp::ClientOptions client;
        client.helo = options_.helo;
        client.tls = dest.tls;
        client.tls_possible = s->tls_possible;
        if (dest.relay && relay_auth_)
            client.auth = smtp::ClientAuth(relay_auth_->username, crypto::SecretBytes::copy_of(relay_auth_->password.view()));
        auto tls = dest.tls == smtp::TlsPolicy::verify ? options_.tls_verified : options_.tls_opportunistic;
        auto context = std::make_unique<OutboundSession>(*this, s->id, options_.client, std::move(client), std::move(tls), t.host);
        auto connection = shard_.connect(service_, t.address, options_.connect_timeout_ms, std::move(context));
        if (!connection) {
            log_event(LogLevel::warn, "outbound.connect_refused", "destination={} target={} error=\"{}\"", dest.name,
                      t.address.to_string(), connection.error().message());
            // A family the kernel does not have (IPv6 switched off): the next address may do.
            if (connection.error() == std::errc::address_family_not_supported) continue;
            // No descriptor or slot now (or the shard is stopping): nothing would pick the jobs up.
            if (dest.sessions == 0 && !shard_.stopping())
                fail_queue(dest, local_reply(451, fmt::format("4.4.0 cannot open a connection: {}", connection.error().message())),
                           Permanence::temporary);
            return false;
        }
        ++dest.sessions;
        ++dest.starting;
        s->connection = *connection;
        ++stats_.connections;
        const std::uint64_t id = s->id;
        sessions_.emplace(id, std::move(s));
        const std::uint64_t period = std::max<std::uint64_t>(1000, options_.reply_timeout_ms / 4);
        shard_.schedule(period, [this, id](Shard&) { check_session(id); });
        return true;
    }
    if (dest.sessions == 0 && !shard_.stopping())
        fail_queue(dest, local_reply(451, "4.4.0 no target address can be connected to"), Permanence::temporary);
    return false;
}

// A session that waits too long for a reply, or lives too long, is cut (a slow or silent peer).
void DeliveryAgent::check_session(std::uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session& s = *it->second;
    const std::uint64_t now = shard_.now_ms();
    const bool stalled = !s.writing && now - s.progress_ms >= options_.reply_timeout_ms;
    if (stalled || now - s.opened_ms >= options_.session_timeout_ms) {
        if (Connection* c = shard_.find(s.connection)) {
            log_event(LogLevel::info, "outbound.timeout", "destination={} waited_ms={}", s.destination, now - s.progress_ms);
            static_cast<OutboundSession*>(c->context())->abort(*c, smtp::Abort::timeout);
        }
        return;
    }
    const std::uint64_t period = std::max<std::uint64_t>(1000, options_.reply_timeout_ms / 4);
    shard_.schedule(period, [this, id](Shard&) { check_session(id); });
}

void DeliveryAgent::session_ready(std::uint64_t id) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session& s = *it->second;
    s.progress_ms = shard_.now_ms();
    if (s.job) return;  // the last outcome is being written; next_job follows
    next_job(s);
}

void DeliveryAgent::session_progress(std::uint64_t id) {
    if (auto it = sessions_.find(id); it != sessions_.end()) it->second->progress_ms = shard_.now_ms();
}

void DeliveryAgent::next_job(Session& s) {
    Connection* c = shard_.find(s.connection);
    if (!c) return;
    auto* session = static_cast<OutboundSession*>(c->context());
    if (!session->ready()) return;
    auto dit = destinations_.find(s.destination);
    Destination& dest = *dit->second;
    if (s.counted_starting) {
        s.counted_starting = false;
        --dest.starting;
        if (session->tls_active()) ++stats_.tls_sessions;
    }
    while (!dest.queue.empty() && s.messages < options_.messages_per_connection) {
        Job job = std::move(dest.queue.front());
        dest.queue.pop_front();
        auto eit = entries_.find(job.entry);
        if (eit == entries_.end() || eit->second->removed) continue;
        Entry& entry = *eit->second;
        // Recipients finished meanwhile (the admin deleted the message) are not sent again.
        std::erase_if(job.recipients, [&entry](std::size_t i) { return entry.envelope.recipients[i].done(); });
        if (job.recipients.empty()) {
            if (entry.jobs > 0) --entry.jobs;
            continue;
        }
        auto body = body_of(entry);
        if (!body) {
            RecipientReplies temp;
            for (std::size_t i = 0; i < job.recipients.size(); ++i)
                temp.emplace_back(i, local_reply(451, "4.3.0 queued message unreadable"));
            finish_job(std::move(job), {}, temp, {}, "", [] {});
            continue;
        }
        smtp::OutboundMessage message;
        message.sender = entry.envelope.sender;
        message.smtputf8 = has_non_ascii(entry.envelope.sender);
        for (std::size_t index : job.recipients) {
            message.recipients.push_back(entry.envelope.recipients[index].address);
            message.smtputf8 = message.smtputf8 || has_non_ascii(message.recipients.back());
        }
        message.body = *body;
        message.eight_bit = has_non_ascii(*body);
        ++s.messages;
        s.job = std::move(job);
        s.progress_ms = shard_.now_ms();
        session->send(*c, message);  // may report message_done at once (refused before sending)
        return;
    }
    session->quit(*c);
}

void DeliveryAgent::message_done(std::uint64_t id, smtp::MessageOutcome&& outcome) {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second->job) return;
    Session& s = *it->second;
    s.progress_ms = shard_.now_ms();
    Job job = std::move(*s.job);
    s.job.reset();
    RecipientReplies accepted, temp, perm;
    for (const auto& r : outcome.recipients) {
        if (r.index >= job.recipients.size()) continue;
        auto& into = r.status == smtp::DeliveryStatus::accepted    ? accepted
                     : r.status == smtp::DeliveryStatus::perm_failure ? perm
                                                                      : temp;
        into.emplace_back(r.index, r.reply);
    }
    auto dit = destinations_.find(s.destination);
    std::string host;
    if (dit != destinations_.end()) {
        Destination& dest = *dit->second;
        if (s.target < dest.targets.size()) host = dest.targets[s.target].host;
        if (!accepted.empty()) dest.limit = std::min(dest.limit + 1, options_.concurrency_max);
    }
    // The connection carries nothing more until this outcome is durable.
    s.writing = true;
    s.job = Job{job.entry, {}};  // marks the session busy while the write runs
    finish_job(std::move(job), accepted, temp, perm, host, [this, id] {
        auto found = sessions_.find(id);
        if (found == sessions_.end()) return;
        found->second->writing = false;
        found->second->job.reset();
        next_job(*found->second);
    });
}

void DeliveryAgent::session_ended(std::uint64_t id, const SessionEnd& end) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    std::unique_ptr<Session> s = std::move(it->second);
    sessions_.erase(it);
    auto dit = destinations_.find(s->destination);
    if (dit == destinations_.end()) return;
    Destination& dest = *dit->second;
    --dest.sessions;
    if (s->counted_starting) --dest.starting;
    pump_starved();
    if (end.greeted || shard_.stopping()) return pump(dest);
    // This target never greeted us: the next one, or the same in plaintext after a failed handshake.
    ++stats_.connect_failures;
    const Reply why = end.failure ? *end.failure : local_reply(421, "4.4.2 connection lost before the greeting");
    log_event(LogLevel::info, "outbound.target_failed", "destination={} target={} reply=\"{}\"", dest.name,
              s->target < dest.targets.size() ? dest.targets[s->target].address.to_string() : std::string("?"),
              reply_text(why));
    if (end.tls_failed && dest.tls == smtp::TlsPolicy::may && s->tls_possible && s->target < dest.targets.size()) {
        open_session(dest, s->target, TlsAttempt::plaintext);
        return;
    }
    if (s->target + 1 < dest.targets.size() && !dest.queue.empty()) {
        open_session(dest, s->target + 1, TlsAttempt::when_offered);
        return;
    }
    if (dest.sessions > 0) return;  // others still work for this destination
    // Dead for now: the waiting jobs are deferred and the destination rests.
    dest.rest_until_ms = shard_.now_ms() + options_.dead_backoff_ms;
    dest.limit = options_.concurrency_initial;
    dest.plan_until_ms = 0;  // ask DNS again after the rest
    fail_queue(dest, why, Permanence::temporary);
}

// ---- outcomes and the queue -----------------------------------------------------------------------

void DeliveryAgent::finish_job(Job job, const RecipientReplies& accepted, const RecipientReplies& temp,
                               const RecipientReplies& perm, const std::string& host, std::function<void()> then) {
    auto it = entries_.find(job.entry);
    if (it == entries_.end()) return then();
    Entry& entry = *it->second;
    if (entry.jobs > 0) --entry.jobs;
    for (std::size_t index : job.recipients) entry.in_job[index] = false;
    const std::int64_t now = now_unix();
    // A recipient finished meanwhile (the admin deleted the message) keeps its state.
    const auto recipient = [&](std::size_t i) -> store::Recipient* {
        store::Recipient& r = entry.envelope.recipients[job.recipients[i]];
        return r.done() ? nullptr : &r;
    };
    std::vector<std::size_t> failed;
    std::vector<std::string> failed_hosts;
    const auto fail = [&](store::Recipient& r, std::size_t i, const Reply& reply) {
        r.state = store::RecipientState::failed_perm;
        failed.push_back(job.recipients[i]);
        failed_hosts.push_back(reply.from == ReplyFrom::server ? host : std::string());
    };
    for (const auto& [i, reply] : accepted) {
        if (store::Recipient* r = recipient(i)) {
            r->state = store::RecipientState::delivered;
            r->reply = reply_text(reply).substr(0, store::envelope_reply_bytes_max);
            ++stats_.delivered;
        }
    }
    for (const auto& [i, reply] : temp) {
        store::Recipient* r = recipient(i);
        if (!r) continue;
        ++r->attempts;
        const RetryDecision next = next_retry(options_.retry, r->attempts, entry.envelope.arrival_unix, now);
        r->next_try_unix = next.next_try_unix;
        r->reply = reply_text(reply).substr(0, store::envelope_reply_bytes_max);
        if (next.give_up) {
            fail(*r, i, reply);
        } else {
            r->state = store::RecipientState::failed_temp;
            ++stats_.deferred;
        }
    }
    for (const auto& [i, reply] : perm) {
        if (store::Recipient* r = recipient(i)) {
            r->reply = reply_text(reply).substr(0, store::envelope_reply_bytes_max);
            fail(*r, i, reply);
        }
    }
    // A bounce is never sent for a bounce (the null sender), RFC 5321 6.1.
    if (failed.empty() || !bounce_ || entry.envelope.sender.empty()) {
        stats_.bounced.fetch_add(failed.size(), std::memory_order_relaxed);
        return persist(entry, std::move(then));
    }
    bounce_then_persist(entry, std::move(failed), std::move(failed_hosts), std::move(then));
}

// The failures are written only once their bounce is durable; a bounce that cannot be queued turns
// them back into temporary failures, tried (and bounced) again later.
void DeliveryAgent::bounce_then_persist(Entry& entry, std::vector<std::size_t> failed, std::vector<std::string> hosts,
                                        std::function<void()> then) {
    const Key key = entry.key;
    auto settle = [this, key, failed, then = std::move(then)](bool bounced) mutable {
        auto found = entries_.find(key);
        if (found == entries_.end()) return then();
        Entry& e = *found->second;
        --e.bounces_pending;
        if (bounced) {
            stats_.bounced.fetch_add(failed.size(), std::memory_order_relaxed);
            log_event(LogLevel::info, "outbound.bounced", "queue_id={} recipients={}", queue_id(key), failed.size());
        } else {
            for (std::size_t index : failed) {
                store::Recipient& r = e.envelope.recipients[index];
                r.state = store::RecipientState::failed_temp;
                r.next_try_unix = now_unix() + options_.retry.retry_first_s;
            }
            ++stats_.deferred;
        }
        persist(e, std::move(then));
    };
    auto body = body_of(entry);
    if (!body) return settle(false);
    ++entry.bounces_pending;
    bounce_(FailedDelivery{entry.envelope, std::move(failed), std::move(hosts), *body, queue_id(key)}, std::move(settle));
}

// Writes the entry's recipient states (or removes it when none is left), then runs `then`. Writes of
// one entry never overlap: a change during a write is written by the next one.
void DeliveryAgent::persist(Entry& entry, std::function<void()> then) {
    entry.after_next.push_back(std::move(then));
    entry.dirty = true;
    if (!entry.writing) start_write(entry.key);
}

void DeliveryAgent::start_write(const Key& key) {
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    Entry& entry = *it->second;
    if (entry.bounces_pending > 0) return;  // the failures wait for their bounces (persist comes again)
    entry.writing = true;
    entry.dirty = false;
    entry.after_write = std::move(entry.after_next);
    entry.after_next.clear();
    const bool finished = entry.envelope.done();
    store::Queue& queue = *store_.segment(key.first).smtp_out;
    store::WriteRequest request;
    request.env = store_.lane_env(key.first, store::SegmentKind::smtp_out);
    if (finished) {
        request.ops = queue.prepare_remove(key.second);
    } else {
        auto ops = queue.prepare_update(store_.keys(), key.second, entry.envelope);
        if (ops) request.ops = std::move(*ops);
    }
    auto done = [this, key, finished](const store::WriteResult& r) {
        auto found = entries_.find(key);
        if (found == entries_.end()) return;
        Entry& e = *found->second;
        e.writing = false;
        if (r.error) {
            // The queue keeps its older state: a crash now would redo these recipients. Try again.
            ++stats_.write_failures;
            log_event(LogLevel::warn, "outbound.queue_write_failed", "queue_id={} error=\"{}\"", queue_id(key),
                      r.error.message());
            e.dirty = true;
            std::move(e.after_write.begin(), e.after_write.end(), std::back_inserter(e.after_next));
            e.after_write.clear();
            shard_.schedule(1000, [this, key](Shard&) {
                auto again = entries_.find(key);
                if (again != entries_.end() && !again->second->writing) start_write(key);
            });
            return;
        }
        auto waiters = std::move(e.after_write);
        e.after_write.clear();
        if (finished && !e.dirty) {
            e.removed = true;
            drop_body(e);
            auto keep = std::move(found->second);
            entries_.erase(found);
            stats_.queued.store(entries_.size(), std::memory_order_relaxed);
            for (auto& fn : waiters) fn();
            return;
        }
        if (e.dirty) start_write(key);
        arm_retry(e);
        if (e.jobs == 0) drop_body(e);  // minutes until a retry: the queue holds it meanwhile
        for (auto& fn : waiters) fn();
    };
    if (request.ops.empty() || !store_.submit(std::move(request), done)) {
        store::WriteResult failed;
        failed.error = make_error_code(store::StoreErrc::queue_full);
        done(failed);
    }
}

// ---- the admin's tools ----------------------------------------------------------------------------

std::size_t DeliveryAgent::retry(std::optional<Key> only) {
    std::size_t touched = 0;
    std::vector<Key> keys;
    for (auto& [key, entry] : entries_) {
        if (only && key != *only) continue;
        bool any = false;
        for (store::Recipient& r : entry->envelope.recipients)
            if (r.state == store::RecipientState::failed_temp) {
                r.next_try_unix = 0;
                any = true;
            }
        if (any) keys.push_back(key);
    }
    for (auto& [name, dest] : destinations_) dest->rest_until_ms = 0;
    for (const Key& key : keys) {
        schedule_entry(key);
        ++touched;
    }
    return touched;
}

void DeliveryAgent::remove(std::uint32_t segment, std::uint64_t id, std::function<void(std::error_code)> done) {
    auto it = entries_.find({segment, id});
    if (it == entries_.end()) return done(make_error_code(store::StoreErrc::not_found));
    Entry& entry = *it->second;
    for (const auto& [sid, s] : sessions_)
        if (s->job && s->job->entry == entry.key) return done(std::make_error_code(std::errc::device_or_resource_busy));
    // Its waiting jobs are skipped when they come up; its recipients count as finished.
    for (store::Recipient& r : entry.envelope.recipients)
        if (!r.done()) {
            r.state = store::RecipientState::failed_perm;
            r.reply = "removed by the administrator";
        }
    entry.jobs = 0;
    persist(entry, [done] { done({}); });
}

}  // namespace vmx
