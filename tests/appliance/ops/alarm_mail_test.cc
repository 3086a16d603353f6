// Alarm mail: the first change goes at once, later ones wait for the interval and travel together,
// a lost notice comes back, and the waiting changes are bounded.
#include <gtest/gtest.h>

#include <string>

#include "appliance/ops/alarm_mail.h"

namespace vmx {
namespace {

const AlarmRule disk{"disk_low", {"disk.free_percent"}, AlarmRule::Test::below, 10, 300, "free space in percent"};
const AlarmRule queue{"queue_growth", {"outbound.queued"}, AlarmRule::Test::above, 500, 300, "messages waiting"};

std::string joined(const AlarmNotice& n) {
    std::string out;
    for (const std::string& line : n.lines) out += line + "\n";
    return out;
}

TEST(AlarmMail, TheFirstChangeGoesAtOnceAndLaterOnesWaitForTheInterval) {
    AlarmMail mail("mx.example", 60);
    EXPECT_FALSE(mail.due(1000, {}));
    mail.add({&disk, true, 4.5}, 1796551418);
    std::vector<AlarmStatus> status{{&disk, AlarmStatus::State::firing, 4.5, 1796551418}};
    auto first = mail.due(1796551418, status);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->subject, "[vaultmx mx.example] alarm disk_low firing");
    EXPECT_EQ(first->changes, 1u);
    EXPECT_NE(joined(*first).find("2026-12-06T10:03:38Z  FIRING    disk_low  value 4.5, threshold 10: free space in percent"),
              std::string::npos);
    EXPECT_NE(joined(*first).find("Firing now: disk_low."), std::string::npos);
    // While one is on its way, nothing else is due.
    mail.add({&queue, true, 900}, 1796551420);
    EXPECT_FALSE(mail.due(1796551500, status));
    mail.sent(true, 1796551419);
    mail.add({&disk, false, 30}, 1796551430);
    EXPECT_FALSE(mail.due(1796551478, {}));  // 59 s after the last
    auto second = mail.due(1796551479, {});
    ASSERT_TRUE(second);
    EXPECT_EQ(second->subject, "[vaultmx mx.example] 2 alarm changes, 1 firing");
    EXPECT_NE(joined(*second).find("FIRING    queue_growth  value 900"), std::string::npos);
    EXPECT_NE(joined(*second).find("resolved  disk_low  value 30"), std::string::npos);
    EXPECT_NE(joined(*second).find("Firing now: none."), std::string::npos);
}

TEST(AlarmMail, ALostNoticeComesBackBeforeNewerChanges) {
    AlarmMail mail("mx.example", 60);
    mail.add({&disk, true, 4}, 1000);
    ASSERT_TRUE(mail.due(1000, {}));
    mail.add({&queue, true, 900}, 1001);
    mail.sent(false, 1002);
    EXPECT_EQ(mail.waiting(), 2u);
    EXPECT_FALSE(mail.due(1061, {}));  // a failure waits the interval too
    auto again = mail.due(1062, {});
    ASSERT_TRUE(again);
    const std::string text = joined(*again);
    EXPECT_LT(text.find("disk_low"), text.find("queue_growth"));
}

TEST(AlarmMail, WaitingChangesAreBoundedAndTheRestCounted) {
    AlarmMail mail("mx.example", 60);
    mail.add({&disk, true, 4}, 1000);
    ASSERT_TRUE(mail.due(1000, {}));
    mail.sent(true, 1000);
    for (std::size_t i = 0; i < AlarmMail::changes_max + 50; ++i) mail.add({&disk, i % 2 == 0, 4}, 1001);
    EXPECT_EQ(mail.waiting(), AlarmMail::changes_max);
    EXPECT_EQ(mail.omitted(), 50u);
    auto notice = mail.due(1060, {});
    ASSERT_TRUE(notice);
    EXPECT_EQ(notice->changes, AlarmMail::changes_max + 50);
    EXPECT_NE(joined(*notice).find("... and 50 more changes"), std::string::npos);
    EXPECT_EQ(mail.waiting(), 0u);
}

}  // namespace
}  // namespace vmx
