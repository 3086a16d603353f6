// The directory's record encoding at format version 2: a user's allowed senders and an
// organisation's hourly submission limits round-trip; records written by version 1 (without them)
// still decode; every limit is checked again on decode; cut, padded or bent records are refused.
#include "appliance/directory/records.h"

#include <gtest/gtest.h>

#include "core/byte_codec.h"

namespace vmx {
namespace {

constexpr std::int64_t t0 = 1'790'000'000;

User sample_user() {
    User u;
    u.id = 7;
    u.address = "ann@example.test";
    u.org_id = 1;
    u.domain_id = 2;
    u.password_hash = "$argon2id$hash";
    u.app_passwords.push_back({"phone", "app-hash", t0});
    u.totp_secret = {1, 2, 3};
    u.totp_last_step = 9;
    u.quota_bytes = 1000;
    u.state = UserState::disabled;
    u.token_generation = 3;
    u.created_unix = t0;
    u.allowed_senders = {"sales@example.test", "info@other.example"};
    u.security_keys.push_back({"yubikey", {1, 2, 3, 4}, {0xa5, 1, 2}, 7, t0, t0 + 60});
    return u;
}

Organisation sample_org() {
    Organisation o;
    o.id = 1;
    o.name = "Example Org";
    o.plan = crypto::Plan::pro;
    o.policy.session_max_s = 3600;
    o.policy.require_mfa = true;
    o.policy.allowed_networks = {"192.0.2.0/24"};
    o.policy.submission_messages_per_hour = 200;
    o.policy.submission_recipients_per_hour = submission_per_hour_max;
    o.created_unix = t0;
    return o;
}

// A user record as version 1 wrote it: the fields of today's record up to created_unix, no senders.
std::vector<std::uint8_t> user_v1(const User& u) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(1);
    w.u64(u.id);
    w.str(u.address);
    w.u64(u.org_id);
    w.u64(u.domain_id);
    w.str(u.password_hash);
    w.u16(static_cast<std::uint16_t>(u.app_passwords.size()));
    for (const AppPassword& a : u.app_passwords) {
        w.str(a.label);
        w.str(a.hash);
        w.i64(a.created_unix);
    }
    w.str(std::string_view(reinterpret_cast<const char*>(u.totp_secret.data()), u.totp_secret.size()));
    w.u64(u.totp_last_step);
    w.u64(u.quota_bytes);
    w.u8(static_cast<std::uint8_t>(u.state));
    w.u64(u.token_generation);
    w.i64(u.created_unix);
    return out;
}

// An organisation record as version 1 wrote it: no hourly limits.
std::vector<std::uint8_t> org_v1(const Organisation& o) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(1);
    w.u64(o.id);
    w.str(o.name);
    w.u8(static_cast<std::uint8_t>(o.plan));
    w.u32(o.policy.session_max_s);
    w.u8(o.policy.require_mfa ? 1 : 0);
    w.u16(static_cast<std::uint16_t>(o.policy.allowed_networks.size()));
    for (const std::string& net : o.policy.allowed_networks) w.str(net);
    w.i64(o.created_unix);
    return out;
}

TEST(RecordsTest, UsersAndOrganisationsRoundTrip) {
    const User u = sample_user();
    auto user = decode_user(encode(u));
    ASSERT_TRUE(user);
    EXPECT_EQ(*user, u);
    EXPECT_EQ(encode(*user), encode(u));
    const Organisation o = sample_org();
    auto org = decode_organisation(encode(o));
    ASSERT_TRUE(org);
    EXPECT_EQ(*org, o);
    User none = sample_user();
    none.allowed_senders.clear();
    EXPECT_EQ(decode_user(encode(none)), none);
}

TEST(RecordsTest, Version1RecordsStillDecodeWithEmptyNewFields) {
    User u = sample_user();
    u.allowed_senders.clear();
    u.security_keys.clear();
    auto user = decode_user(user_v1(u));
    ASSERT_TRUE(user);
    EXPECT_EQ(*user, u);
    EXPECT_EQ(encode(*user).front(), 4);  // written back at today's version
    EXPECT_EQ(decode_user(encode(*user)), u);

    Organisation o = sample_org();
    o.policy.submission_messages_per_hour = 0;
    o.policy.submission_recipients_per_hour = 0;
    auto org = decode_organisation(org_v1(o));
    ASSERT_TRUE(org);
    EXPECT_EQ(*org, o);
    EXPECT_EQ(decode_organisation(encode(*org)), o);
}

TEST(RecordsTest, CutPaddedAndUnknownVersionsAreRefused) {
    const auto user = encode(sample_user());
    for (std::size_t cut = 0; cut < user.size(); ++cut)
        EXPECT_FALSE(decode_user(std::span(user).first(cut))) << "user cut at " << cut;
    const auto org = encode(sample_org());
    for (std::size_t cut = 0; cut < org.size(); ++cut)
        EXPECT_FALSE(decode_organisation(std::span(org).first(cut))) << "organisation cut at " << cut;
    for (int version : {0, 5, 255}) {
        auto u = user;
        u[0] = static_cast<std::uint8_t>(version);
        EXPECT_FALSE(decode_user(u)) << version;
    }
    for (int version : {0, 4, 255}) {
        auto o = org;
        o[0] = static_cast<std::uint8_t>(version);
        EXPECT_FALSE(decode_organisation(o)) << version;
    }
    auto longer = user;
    longer.push_back(0);
    EXPECT_FALSE(decode_user(longer));
    // A version 1 record that claims to be version 2 lacks its section; a version 2 record that
    // claims to be version 1 has bytes left over.
    auto v1 = user_v1(sample_user());
    v1[0] = 2;
    EXPECT_FALSE(decode_user(v1));
    auto v2 = user;
    v2[0] = 1;
    EXPECT_FALSE(decode_user(v2));
}

// Version 4 appends the security keys: a version 3 record (no section) decodes with none; the rules
// (a label, unique labels and ids, at most security_keys_per_user_max) are checked again.
TEST(RecordsTest, SecurityKeysRoundTripAndTheirRulesHoldOnDecode) {
    User u = sample_user();
    u.security_keys.clear();
    auto v3 = encode(u);
    v3.pop_back();  // the key count of an empty section
    v3[0] = 3;
    auto user = decode_user(v3);
    ASSERT_TRUE(user);
    EXPECT_EQ(*user, u);
    User two = sample_user();
    two.security_keys.push_back({"phone", {9, 9}, {0xa5}, 0, t0, 0});
    EXPECT_EQ(decode_user(encode(two)), two);
    User same_label = two;
    same_label.security_keys[1].label = "yubikey";
    EXPECT_FALSE(decode_user(encode(same_label)));
    User same_id = two;
    same_id.security_keys[1].credential_id = same_id.security_keys[0].credential_id;
    EXPECT_FALSE(decode_user(encode(same_id)));
    User too_many = sample_user();
    for (std::size_t i = 0; i < security_keys_per_user_max; ++i)
        too_many.security_keys.push_back({"key" + std::to_string(i), {static_cast<std::uint8_t>(i + 10)}, {1}, 0, t0, 0});
    EXPECT_FALSE(decode_user(encode(too_many)));
    User empty_id = sample_user();
    empty_id.security_keys[0].credential_id.clear();
    EXPECT_FALSE(decode_user(encode(empty_id)));
}

TEST(RecordsTest, DecodeChecksTheSenderRulesAgain) {
    auto refused = [](std::vector<std::string> senders) {
        User u = sample_user();
        u.allowed_senders = std::move(senders);
        return !decode_user(encode(u));
    };
    EXPECT_TRUE(refused({"Sales@example.test"}));                        // not lower case
    EXPECT_TRUE(refused({"bad@@example.test"}));                         // not an address
    EXPECT_TRUE(refused({""}));
    EXPECT_TRUE(refused({"sales@example.test", "sales@example.test"}));  // twice
    EXPECT_TRUE(refused({"ann@example.test"}));                          // the user's own
    std::vector<std::string> many;
    for (std::size_t i = 0; i <= allowed_senders_per_user_max; ++i)
        many.push_back("s" + std::to_string(i) + "@example.test");
    EXPECT_TRUE(refused(many));
    many.pop_back();
    EXPECT_FALSE(refused(many));  // exactly the limit
    EXPECT_EQ(check_allowed_senders("ann@example.test", {"ann@example.test"}), DirectoryErrc::sender_is_own_address);
    EXPECT_EQ(check_allowed_senders("ann@example.test", {"a@b.c", "a@b.c"}), DirectoryErrc::sender_exists);
    EXPECT_EQ(check_allowed_senders("ann@example.test", {"A@b.c"}), DirectoryErrc::invalid_address);
    EXPECT_EQ(check_allowed_senders("ann@example.test", {"a@b.c", "a@b.cc"}), DirectoryErrc::ok);
}

TEST(RecordsTest, DecodeChecksTheHourlyLimitsAgain) {
    for (auto bend : {&OrgPolicy::submission_messages_per_hour, &OrgPolicy::submission_recipients_per_hour}) {
        Organisation o = sample_org();
        o.policy.*bend = submission_per_hour_max + 1;
        EXPECT_EQ(check_hourly_limits(o.policy), DirectoryErrc::invalid_hourly_limit);
        EXPECT_FALSE(decode_organisation(encode(o)));
        o.policy.*bend = submission_per_hour_max;
        EXPECT_TRUE(decode_organisation(encode(o)));
    }
    EXPECT_EQ(make_error_code(DirectoryErrc::too_many_senders).message(), "too many allowed senders (at most 64)");
}

}  // namespace
}  // namespace vmx
