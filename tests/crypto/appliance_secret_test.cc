// Appliance secrets: sealed under a master-derived key, bound to their name.
#include "tests/support/test_keys.h"
#include "crypto/appliance_secret.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/errc.h"

namespace vmx::crypto {
namespace {

MasterKey master(std::uint8_t seed) { return vmx::testing::fixed_master_key(seed); }

std::span<const std::uint8_t> bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST(ApplianceSecret, RoundTripsUnderTheSameMasterAndName) {
    const std::string password = "smarthost-p4ss";
    auto sealed = seal_appliance_secret(master(1), "smarthost.password", bytes(password));
    ASSERT_TRUE(sealed);
    // Nothing of the secret shows in what is stored.
    EXPECT_EQ(std::string(sealed->begin(), sealed->end()).find("p4ss"), std::string::npos);
    auto opened = open_appliance_secret(master(1), "smarthost.password", *sealed);
    ASSERT_TRUE(opened);
    EXPECT_TRUE(opened->constant_time_equal(bytes(password)));
}

TEST(ApplianceSecret, OtherNameOtherMasterOrTamperingFails) {
    auto sealed = seal_appliance_secret(master(1), "smarthost.password", bytes("secret"));
    ASSERT_TRUE(sealed);
    EXPECT_FALSE(open_appliance_secret(master(1), "collector.password", *sealed));
    EXPECT_FALSE(open_appliance_secret(master(2), "smarthost.password", *sealed));
    for (std::size_t i = 0; i < sealed->size(); ++i) {
        auto bad = *sealed;
        bad[i] ^= 0x01;
        EXPECT_FALSE(open_appliance_secret(master(1), "smarthost.password", bad)) << i;
    }
}

TEST(ApplianceSecret, NamesAreBounded) {
    EXPECT_EQ(seal_appliance_secret(master(1), "", bytes("x")).error(), CryptoErrc::invalid_argument);
    EXPECT_EQ(seal_appliance_secret(master(1), std::string(200, 'n'), bytes("x")).error(),
              CryptoErrc::invalid_argument);
}

}  // namespace
}  // namespace vmx::crypto
