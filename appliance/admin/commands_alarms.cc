// The alarms admin command: every rule with its state, the value it last saw and its threshold.
#include <fmt/format.h>

#include "appliance/admin/command_handlers.h"
#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"

namespace vmx::admin {
namespace {

std::string_view test_of(AlarmRule::Test test) {
    switch (test) {
        case AlarmRule::Test::increase: return "increase_over";
        case AlarmRule::Test::above: return "above";
        case AlarmRule::Test::below: return "below";
    }
    return "above";
}

}  // namespace

AdminReply alarms(AdminContext& c, const AdminRequest& r) {
    if (c.alarms == nullptr) return ok(r.json ? "[]\n" : "");
    std::string out;
    for (const AlarmStatus& s : c.alarms->status()) {
        const AlarmRule& rule = *s.rule;
        const std::string since = s.since_unix > 0 ? format_time(s.since_unix) : "-";
        if (r.json) {
            out += fmt::format(R"({}{{"name":{},"state":"{}","value":{:.6g},"test":"{}","threshold":{:.6g},)"
                               R"("window_s":{},"since":{},"help":{}}})",
                               out.empty() ? "" : ",", json_string(rule.name), name_of(s.state), s.value,
                               test_of(rule.test), rule.threshold, rule.test == AlarmRule::Test::increase ? rule.window_s : 0,
                               json_string(since), json_string(rule.help));
        } else {
            out += fmt::format("{:<22} {:<8} value={:<10.6g} {} {:.6g}{}  since {}  ({})\n", rule.name, name_of(s.state),
                               s.value, test_of(rule.test), rule.threshold,
                               rule.test == AlarmRule::Test::increase ? fmt::format(" in {}s", rule.window_s) : "",
                               since, rule.help);
        }
    }
    return ok(r.json ? "[" + out + "]\n" : out);
}

}  // namespace vmx::admin
