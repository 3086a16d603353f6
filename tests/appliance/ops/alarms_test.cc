// Alarm rules: increases within a window, levels above and below, unknown metrics, and each change
// of state reported once.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "appliance/ops/alarms.h"

namespace vmx {
namespace {

struct Metrics {
    std::map<std::string, double, std::less<>> values;
    Alarms::ValueOf reader() {
        return [this](std::string_view name) -> std::optional<double> {
            const auto it = values.find(name);
            if (it == values.end()) return std::nullopt;
            return it->second;
        };
    }
};

TEST(Alarms, AnIncreaseWithinTheWindowFiresOnceAndResolvesWhenItLeaves) {
    Alarms alarms({AlarmRule{"commits", {"lane.failed_commits"}, AlarmRule::Test::increase, 0, 300, ""}});
    Metrics m;
    m.values["lane.failed_commits"] = 5;  // failures before the first look do not count
    EXPECT_TRUE(alarms.evaluate(m.reader(), 1000).empty());
    EXPECT_EQ(alarms.status()[0].state, AlarmStatus::State::ok);
    m.values["lane.failed_commits"] = 6;
    auto changes = alarms.evaluate(m.reader(), 1001);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_TRUE(changes[0].firing);
    EXPECT_EQ(changes[0].value, 1);
    EXPECT_TRUE(alarms.evaluate(m.reader(), 1100).empty());  // still firing: no news
    EXPECT_EQ(alarms.status()[0].state, AlarmStatus::State::firing);
    EXPECT_EQ(alarms.status()[0].since_unix, 1001);
    changes = alarms.evaluate(m.reader(), 1402);  // the failure left the 300 s window
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_FALSE(changes[0].firing);
}

TEST(Alarms, LevelsSumTheirMetricsAndCompareBothWays) {
    Alarms alarms({AlarmRule{"queue", {"a.queued", "b.queued"}, AlarmRule::Test::above, 10, 0, ""},
                   AlarmRule{"disk", {"disk.free_percent"}, AlarmRule::Test::below, 10, 0, ""}});
    Metrics m;
    m.values = {{"a.queued", 6}, {"b.queued", 5}, {"disk.free_percent", 50}};
    auto changes = alarms.evaluate(m.reader(), 1);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].rule->name, "queue");
    EXPECT_EQ(changes[0].value, 11);
    m.values["disk.free_percent"] = 9.5;
    m.values["a.queued"] = 1;
    changes = alarms.evaluate(m.reader(), 2);
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(alarms.status()[0].state, AlarmStatus::State::ok);
    EXPECT_EQ(alarms.status()[1].state, AlarmStatus::State::firing);
}

TEST(Alarms, AMetricNobodyReportsIsUnknownNeverFiring) {
    Alarms alarms({AlarmRule{"logins", {"auth.login_failures"}, AlarmRule::Test::below, 100, 0, ""}});
    Metrics m;
    EXPECT_TRUE(alarms.evaluate(m.reader(), 1).empty());
    EXPECT_EQ(alarms.status()[0].state, AlarmStatus::State::unknown);
    EXPECT_EQ(name_of(alarms.status()[0].state), "unknown");
}

TEST(Alarms, SamplesStayWithinTheWindow) {
    Alarms alarms({AlarmRule{"x", {"x"}, AlarmRule::Test::increase, 1000000, 60, ""}});
    Metrics m;
    for (int t = 0; t < 10000; ++t) {
        m.values["x"] = t;
        alarms.evaluate(m.reader(), t);
    }
    EXPECT_EQ(alarms.status()[0].value, 60);  // the increase over the last 60 s only
}

}  // namespace
}  // namespace vmx
