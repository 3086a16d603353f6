// The checks of the config table's list rows (params.h): one item at a time, an empty answer when
// it is good, otherwise what is wrong with it.
#include <string>
#include <string_view>
#include <variant>

#include "appliance/config/alarm_rule_text.h"
#include "appliance/config/params.h"
#include "core/network_range.h"
#include "core/patterns.h"

namespace vmx {

std::string config_table::check_network(std::string_view item) {
    return parse_network(item) ? std::string() : std::string("not an address, or a prefix with host bits set");
}

std::string config_table::check_alarm_rule(std::string_view item) {
    auto parsed = parse_alarm_rule(item);
    if (auto* wrong = std::get_if<std::string>(&parsed)) return std::move(*wrong);
    return {};
}

std::string config_table::check_host_name(std::string_view item) {
    return matches(Pattern::domain, item) && item.find('.') != std::string_view::npos ? std::string()
                                                                                      : std::string("not a host name");
}

// "{domain}" once, the rest host-name characters: "mail.{domain}" for mail.example.org.
std::string config_table::check_domain_host(std::string_view item) {
    const std::size_t at = item.find("{domain}");
    if (at == std::string_view::npos || item.find("{domain}", at + 1) != std::string_view::npos)
        return "must hold {domain} once";
    std::string probe(item);
    probe.replace(at, 8, "example.org");
    return check_host_name(probe);
}

}  // namespace vmx
