// Alarm mail ([alarms] mail_to): the changes of state the alarms report, gathered into notices for
// the admin. The first change is mailed at once; later ones wait until interval_s has passed since
// the last notice, so a flapping alarm sends one notice an interval, not one a second. At most
// changes_max changes wait; more are counted and said in the next notice. A notice that could not
// be queued is put back and tried again after the interval. Pure apart from the clock it is given;
// control thread only. A notice carries rule names, numbers and help lines, never customer data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "appliance/ops/alarms.h"

namespace vmx {

struct AlarmNotice {
    std::string subject;
    std::vector<std::string> lines;
    std::size_t changes = 0;
};

class AlarmMail {
public:
    static constexpr std::size_t changes_max = 200;

    AlarmMail(std::string hostname, std::uint32_t interval_s) : hostname_(std::move(hostname)), interval_s_(interval_s) {}

    void add(const AlarmChange& change, std::int64_t now_unix);
    // The notice to send now, if one is due (and none is on its way); `status` lists what fires now.
    std::optional<AlarmNotice> due(std::int64_t now_unix, const std::vector<AlarmStatus>& status);
    // The outcome of the notice due() returned.
    void sent(bool queued, std::int64_t now_unix);

    std::size_t waiting() const noexcept { return waiting_.lines.size(); }
    std::uint64_t omitted() const noexcept { return waiting_.omitted; }

private:
    struct Changes {
        struct Line {
            bool firing = false;
            std::string text;
        };
        std::vector<Line> lines;         // one per change, oldest first
        std::uint64_t omitted = 0;       // changes past changes_max
        std::string first_name;          // the rule of the first change (the subject when alone)
        bool first_firing = false;
        bool empty() const noexcept { return lines.empty() && omitted == 0; }
    };

    std::string hostname_;
    std::uint32_t interval_s_;
    Changes waiting_;
    std::optional<Changes> in_flight_;
    std::optional<std::int64_t> last_sent_;
};

}  // namespace vmx
