// Support reveal grants (appliance/directory/support_grants.h): the record's encoding against
// hostile bytes, the reason rule, sealing (no reason on disk in the clear), one grant per user,
// expiry; and the support-reveal entries of the login history (version 2, with a note) beside the
// logins of version 1.
#include "appliance/directory/support_grants.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "appliance/directory/directory.h"
#include "appliance/directory/login_history.h"
#include "core/assert.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"

namespace vmx {
namespace {

using store::testing::TempDir;
constexpr std::int64_t t0 = 1'790'000'000;

SupportGrant grant_of(std::uint64_t user, std::string reason = "ticket 42") {
    return SupportGrant{user, 1000, std::move(reason), t0, t0 + 3600};
}

TEST(SupportGrantRecord, RoundTrips) {
    const SupportGrant g = grant_of(9, "ticket 42: caf\xc3\xa9 won't sync");
    auto back = decode_support_grant(encode_support_grant(g), 9);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->user_id, 9u);
    EXPECT_EQ(back->admin_uid, 1000u);
    EXPECT_EQ(back->reason, g.reason);
    EXPECT_EQ(back->granted_unix, t0);
    EXPECT_EQ(back->expires_unix, t0 + 3600);
}

TEST(SupportGrantRecord, RefusesHostileBytes) {
    const auto good = encode_support_grant(grant_of(9));
    // Every prefix, one byte more, and every single-byte change of the version and lengths.
    for (std::size_t n = 0; n < good.size(); ++n)
        EXPECT_FALSE(decode_support_grant(std::span(good).first(n), 9)) << n;
    auto longer = good;
    longer.push_back(0);
    EXPECT_FALSE(decode_support_grant(longer, 9));
    auto version = good;
    version[0] = 2;
    EXPECT_FALSE(decode_support_grant(version, 9));
    auto length = good;
    length[5] = 0xff;  // the reason's u16 length: past the end, and over the maximum
    length[6] = 0xff;
    EXPECT_FALSE(decode_support_grant(length, 9));
    // A reason with a control character, an empty one, and expiry before the grant.
    for (const SupportGrant& bad : {grant_of(9, "esc \x1b[2J"), grant_of(9, std::string("nul \0x", 6)), grant_of(9, "")}) {
        SupportGrant forged = bad;
        std::vector<std::uint8_t> bytes = encode_support_grant(forged);
        EXPECT_FALSE(decode_support_grant(bytes, 9)) << forged.reason;
    }
    SupportGrant backwards = grant_of(9);
    backwards.expires_unix = backwards.granted_unix - 1;
    EXPECT_FALSE(decode_support_grant(encode_support_grant(backwards), 9));
    // Random bytes never crash the decoder and almost never decode.
    std::uint32_t x = 12345;
    for (int round = 0; round < 2000; ++round) {
        std::vector<std::uint8_t> junk(static_cast<std::size_t>(round % 64));
        for (auto& b : junk) b = static_cast<std::uint8_t>((x = x * 1103515245 + 12345) >> 24);
        (void)decode_support_grant(junk, 9);
    }
}

TEST(SupportGrantRecord, ReasonRule) {
    EXPECT_TRUE(is_support_reason("ticket 42"));
    EXPECT_TRUE(is_support_reason("Kunde ruft an: \xc3\xbc"));
    EXPECT_TRUE(is_support_reason(std::string(support_reason_bytes_max, 'r')));
    EXPECT_FALSE(is_support_reason(std::string(support_reason_bytes_max + 1, 'r')));
    EXPECT_FALSE(is_support_reason(""));
    EXPECT_FALSE(is_support_reason("   "));
    EXPECT_FALSE(is_support_reason("line\nbreak"));
    EXPECT_FALSE(is_support_reason("tab\there"));
    EXPECT_FALSE(is_support_reason(std::string("nul\0", 4)));
    EXPECT_FALSE(is_support_reason("bad utf-8 \xff"));
    EXPECT_FALSE(is_support_reason("override \xe2\x80\xae"));
}

struct Fixture {
    Fixture() {
        store::EnvOptions o;
        o.map_bytes = std::size_t{8} << 20;
        o.map_bytes_max = std::size_t{8} << 20;
        auto e = store::Env::open(dir.sub("directory"), o);
        VMX_ASSERT(e);
        env = std::move(*e);
        auto g = SupportGrants::open(*env);
        VMX_ASSERT(g);
        grants = std::make_unique<SupportGrants>(std::move(*g));
        auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(0x43));
        VMX_ASSERT(ring.ensure_scope_key(appliance_scope, t0));
        keys = ring.snapshot();
    }
    TempDir dir;
    std::unique_ptr<store::Env> env;
    std::unique_ptr<SupportGrants> grants;
    std::shared_ptr<const crypto::KeySet> keys;
};

TEST(SupportGrants, StoredSealedOnePerUserAndExpire) {
    Fixture f;
    auto none = f.grants->find(*f.keys, 9);
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);
    ASSERT_TRUE(f.grants->put(*f.keys, grant_of(9, "first reason XYZZY")));
    ASSERT_TRUE(f.grants->put(*f.keys, grant_of(9, "second reason XYZZY")));
    SupportGrant other = grant_of(10, "other user PLUGH");
    other.expires_unix = t0 + 60;
    ASSERT_TRUE(f.grants->put(*f.keys, other));
    auto found = f.grants->find(*f.keys, 9);
    ASSERT_TRUE(found);
    ASSERT_TRUE(*found);
    EXPECT_EQ((*found)->reason, "second reason XYZZY");

    // Nothing of the reasons lies on disk in the clear.
    f.env.reset();
    std::ifstream file(f.dir.sub("directory") + "/data.mdb", std::ios::binary);
    const std::string disk((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(disk.empty());
    EXPECT_EQ(disk.find("XYZZY"), std::string::npos);
    EXPECT_EQ(disk.find("PLUGH"), std::string::npos);
}

TEST(SupportGrants, ExpiredOnesAreSweptOpenOnesKept) {
    Fixture f;
    SupportGrant early = grant_of(10);
    early.expires_unix = t0 + 60;
    ASSERT_TRUE(f.grants->put(*f.keys, early));
    ASSERT_TRUE(f.grants->put(*f.keys, grant_of(9)));
    auto swept = f.grants->erase_expired(*f.keys, t0 + 60, 100);
    ASSERT_TRUE(swept);
    EXPECT_EQ(*swept, 1u);
    auto gone = f.grants->find(*f.keys, 10);
    ASSERT_TRUE(gone);
    EXPECT_FALSE(*gone);
    auto kept = f.grants->find(*f.keys, 9);
    ASSERT_TRUE(kept);
    EXPECT_TRUE(*kept);
}

TEST(SupportGrants, AGrantUnderAnotherIdentityDoesNotOpen) {
    Fixture f;
    ASSERT_TRUE(f.grants->put(*f.keys, grant_of(9)));
    // The identity binds the record to its user: moved to another user's key it does not open.
    {
        auto dbi = f.env->open_dbi("support");  // before the write transaction: it takes the writer lock
        ASSERT_TRUE(dbi);
        auto txn = store::WriteTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        const std::array<std::uint8_t, 8> from{0, 0, 0, 0, 0, 0, 0, 9};
        const std::array<std::uint8_t, 8> to{0, 0, 0, 0, 0, 0, 0, 11};
        auto value = txn->get(*dbi, from);
        ASSERT_TRUE(value);
        const std::vector<std::uint8_t> copy(value->begin(), value->end());
        ASSERT_TRUE(txn->put(*dbi, to, copy));
        ASSERT_TRUE(txn->commit());
    }
    EXPECT_FALSE(f.grants->find(*f.keys, 11));
    EXPECT_TRUE(stored_support_grant_identity(std::array<std::uint8_t, 8>{}));
    EXPECT_FALSE(stored_support_grant_identity(std::array<std::uint8_t, 9>{}));
}

TEST(SupportRevealHistory, NotesRoundTripBesideVersionOneLogins) {
    LoginEvent reveal;
    reveal.user_id = 9;
    reveal.time_unix = t0;
    reveal.result = LoginResult::support_reveal;
    reveal.method = LoginMethod::support;
    reveal.protocol = "support";
    reveal.note = "ticket 42";
    const auto bytes = encode_login_event(reveal);
    EXPECT_EQ(bytes[0], 2);
    auto back = decode_login_event(bytes, 9);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->result, LoginResult::support_reveal);
    EXPECT_EQ(back->method, LoginMethod::support);
    EXPECT_EQ(back->note, "ticket 42");
    EXPECT_EQ(name_of(back->result), "support_reveal");
    EXPECT_EQ(name_of(back->method), "support");

    LoginEvent login;
    login.user_id = 9;
    login.time_unix = t0;
    login.result = LoginResult::success;
    login.protocol = "pop3";
    const auto v1 = encode_login_event(login);
    EXPECT_EQ(v1[0], 1);  // what earlier daemons read
    ASSERT_TRUE(decode_login_event(v1, 9));
    // Version 1 never holds the support values; a note of control characters is refused.
    auto forged = v1;
    forged[9] = static_cast<std::uint8_t>(LoginResult::support_reveal);
    EXPECT_FALSE(decode_login_event(forged, 9));
    auto with_note = bytes;
    with_note[with_note.size() - 1] = 0x1b;
    EXPECT_FALSE(decode_login_event(with_note, 9));
    for (std::size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(decode_login_event(std::span(bytes).first(n), 9)) << n;
}

}  // namespace
}  // namespace vmx
