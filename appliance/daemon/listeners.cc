// Listener wiring (see listeners.h).
#include "appliance/daemon/listeners.h"

#include "appliance/daemon/unavailable_service.h"

namespace vmx {

std::vector<ListenerSpec> listener_specs(const ListenerDeps& deps) {
    std::vector<ListenerSpec> specs;
    for (const ListenerConfig& l : deps.config.listeners) {
        if (l.name == "smtp") {
            specs.push_back({l.name, l.address, smtp_inbound_factory(deps.smtp, deps.directory, deps.smtp_parts)});
            continue;
        }
        if (l.name == "submission" && deps.tls) {
            specs.push_back({l.name, l.address, submission_factory(deps.submission, deps.directory, deps.submission_parts)});
            continue;
        }
        if (l.name == "submission_tls" && deps.tls) {
            specs.push_back({l.name, l.address, submission_factory(deps.submission_tls, deps.directory, deps.submission_parts)});
            continue;
        }
        if (l.name == "pop3s" && deps.tls) {
            specs.push_back({l.name, l.address, pop3_service_factory(deps.pop3, deps.pop3_parts)});
            continue;
        }
        std::string greeting = unavailable_greeting(l.name);
        specs.push_back({l.name, l.address, [greeting](Shard&) { return std::make_unique<UnavailableService>(greeting); }});
    }
    return specs;
}

}  // namespace vmx
