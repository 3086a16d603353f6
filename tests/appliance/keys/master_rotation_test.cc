// A master-key rotation on a real key store: the scope keys, the account keys under them, the held
// keys (log spool, directory index) and the appliance secrets all open under the new key after a
// reopen, with the same values; the old key is refused; the same key twice is refused; and a
// rotation whose transaction fails leaves the store and the ring under the old key.
#include <gtest/gtest.h>

#include <string>

#include "appliance/keys/key_service.h"
#include "appliance/keys/key_setup.h"
#include "crypto/errc.h"
#include "crypto/random.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }
std::string text_of(const crypto::SecretBytes& s) { return {reinterpret_cast<const char*>(s.view().data()), s.size()}; }

crypto::SecretBytes fixed_key(std::uint8_t fill) {
    auto key = crypto::SecretBytes::zeroed(32);
    for (auto& b : key.mutable_view()) b = fill;
    return key;
}

struct MasterRotationTest : ::testing::Test {
    MasterRotationTest() { layout.emplace(testing::test_layout(dir.path())); }
    std::variant<OpenedKeys, std::string> open(std::uint8_t seed) {
        return open_keys(*layout, testing::fixed_master_key(seed), "test");
    }

    store::testing::TempDir dir;
    std::optional<store::StoreLayout> layout;
};

TEST_F(MasterRotationTest, EverythingOpensUnderTheNewKeyOnlyAndStaysTheSame) {
    std::vector<std::uint8_t> sealed;
    {
        auto opened = open(1);
        ASSERT_TRUE(std::holds_alternative<OpenedKeys>(opened)) << std::get<std::string>(opened);
        KeyService keys(std::move(std::get<OpenedKeys>(opened)));
        const KeyService::AccountScope account{7, crypto::scope_for(crypto::Plan::pro, 3, 7)};
        ASSERT_TRUE(keys.ensure_accounts({&account, 1}, 1));
        ASSERT_TRUE(keys.set_appliance_secret("relayhost", bytes_of("smarthost password"), 1));
        ASSERT_EQ(text_of(*keys.held_key("log-spool", fixed_key(0x11))), std::string(32, '\x11'));
        crypto::RecordIdentity id{};
        id.mailbox = 7;
        id.record_id = 1;
        sealed = *keys.snapshot()->seal(crypto::account_scope(7), id, bytes_of("mail of user 7"));
        ASSERT_TRUE(keys.rotate_master(testing::fixed_master_key(2)));
        EXPECT_EQ(keys.master().check, testing::fixed_master_key(2).check);
        EXPECT_EQ(keys.rotate_master(testing::fixed_master_key(2)).error(), crypto::CryptoErrc::invalid_argument);
        // Still serving under the new key, without a reopen.
        EXPECT_EQ(text_of(**keys.appliance_secret("relayhost")), "smarthost password");
    }
    auto old = open(1);
    ASSERT_TRUE(std::holds_alternative<std::string>(old));
    EXPECT_NE(std::get<std::string>(old).find("does not match"), std::string::npos);
    auto opened = open(2);
    ASSERT_TRUE(std::holds_alternative<OpenedKeys>(opened)) << std::get<std::string>(opened);
    KeyService keys(std::move(std::get<OpenedKeys>(opened)));
    EXPECT_EQ(text_of(**keys.appliance_secret("relayhost")), "smarthost password");
    // The held key is the same key, rewrapped: not the new fallback.
    EXPECT_EQ(text_of(*keys.held_key("log-spool", fixed_key(0x22))), std::string(32, '\x11'));
    crypto::RecordIdentity id{};
    id.mailbox = 7;
    id.record_id = 1;
    auto mail = keys.snapshot()->open(id, sealed);
    ASSERT_TRUE(mail);
    EXPECT_EQ(std::string(mail->begin(), mail->end()), "mail of user 7");
}

TEST_F(MasterRotationTest, AFailedTransactionLeavesTheOldKeyInCharge) {
    auto opened = open(1);
    ASSERT_TRUE(std::holds_alternative<OpenedKeys>(opened));
    KeyService keys(std::move(std::get<OpenedKeys>(opened)));
    ASSERT_TRUE(keys.set_appliance_secret("relayhost", bytes_of("pw"), 1));
    // A secret record that does not open under the current key makes the reseal fail.
    {
        auto dbi = keys.env().open_dbi("appliance-secrets");
        ASSERT_TRUE(dbi);
        auto txn = store::WriteTxn::begin(keys.env());
        ASSERT_TRUE(txn);
        auto value = txn->get(*dbi, bytes_of("relayhost"));
        ASSERT_TRUE(value);
        std::vector<std::uint8_t> copy(value->begin(), value->end());
        copy.back() ^= 1;
        ASSERT_TRUE(txn->put(*dbi, bytes_of("other"), copy));
        ASSERT_TRUE(txn->commit());
    }
    EXPECT_FALSE(keys.rotate_master(testing::fixed_master_key(2)));
    EXPECT_EQ(keys.master().check, testing::fixed_master_key(1).check);
    EXPECT_EQ(text_of(**keys.appliance_secret("relayhost")), "pw");
}

}  // namespace
}  // namespace vmx
