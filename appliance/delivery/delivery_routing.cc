// The delivery agent's destinations (see delivery_agent.h): which next hop a domain goes to, how many
// connections it gets, and its targets from DNS (MX, then each host's AAAA and A) or a literal.
#include "appliance/delivery/delivery_agent.h"

#include <fmt/format.h>

#include "appliance/delivery/delivery_agent_state.h"
#include "core/errc.h"
#include "core/log.h"
#include "net/dns/mx_plan.h"

namespace vmx {

using delivery_detail::destination_sweep_ms;
using delivery_detail::local_reply;
using delivery_detail::RecipientReplies;
using delivery_detail::reply_text;
using smtp::Reply;
using net::dns::DnsAnswer;
using net::dns::DnsQuery;

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

}  // namespace vmx
