// appliance/mailauth/dkim_keyring: secret names, the sealed value's frame (round trip; a tampered,
// truncated or moved value refused), loading every dkim/ secret through a real KeyService (bad ones
// skipped, the rest kept), and the keyring (each domain's active key, the newest of two, found in
// any case).
#include <gtest/gtest.h>

#include <variant>

#include "appliance/keys/key_service.h"
#include "appliance/mailauth/dkim_keyring.h"
#include "crypto/errc.h"
#include "store/errc.h"
#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using crypto::DkimAlgorithm;
using testing::kTestStart;

std::string text_of(const crypto::SecretBytes& s) { return {reinterpret_cast<const char*>(s.view().data()), s.size()}; }
std::span<const std::uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

DkimKey new_key(std::string domain, std::string selector, DkimAlgorithm algorithm, std::int64_t created_unix,
                std::int64_t retired_unix = 0) {
    auto pem = crypto::generate_dkim_key(algorithm);
    VMX_ASSERT(pem);
    DkimKey key;
    key.domain = std::move(domain);
    key.selector = std::move(selector);
    key.algorithm = algorithm;
    key.created_unix = created_unix;
    key.retired_unix = retired_unix;
    key.private_pem = std::move(*pem);
    return key;
}

crypto::SecretBytes changed(const crypto::SecretBytes& value, std::size_t at, std::uint8_t to) {
    auto copy = crypto::SecretBytes::copy_of(value.view());
    copy.mutable_view()[at] = to;
    return copy;
}

TEST(DkimSecretName, DomainAndSelectorChecked) {
    EXPECT_EQ(dkim_secret_name("example.org", "vmx20261206"), "dkim/example.org/vmx20261206");
    EXPECT_EQ(dkim_secret_name("Mail.Example.ORG", "S1"), "dkim/mail.example.org/s1");  // DNS ignores case
    for (auto [domain, selector] : std::vector<std::pair<std::string, std::string>>{
             {"localhost", "s"}, {"", "s"}, {"example..org", "s"}, {"exa mple.org", "s"}, {"example.org.", "s"},
             {"exa/mple.org", "s"}, {"example.org", ""}, {"example.org", "-s"}, {"example.org", "s_1"},
             {"example.org", "s.1"}, {"example.org", "s/1"}, {"example.org", std::string(64, 's')}})
        EXPECT_EQ(dkim_secret_name(domain, selector), std::nullopt) << domain << " " << selector;
    // "dkim/" + domain + "/" + selector fits a secret name (128 bytes) or is refused.
    const std::string domain_116 = std::string(63, 'a') + "." + std::string(48, 'b') + ".org";
    ASSERT_EQ(domain_116.size(), 116u);
    EXPECT_EQ(dkim_secret_name(domain_116, "s12345")->size(), 128u);
    EXPECT_EQ(dkim_secret_name(domain_116, "s123456"), std::nullopt);
}

TEST(DkimKeyValue, RoundTripsForBothAlgorithms) {
    for (DkimAlgorithm algorithm : {DkimAlgorithm::rsa_sha256, DkimAlgorithm::ed25519_sha256}) {
        const DkimKey key = new_key("example.org", "vmx20261206", algorithm, 1'800'000'000, 1'800'086'400);
        const crypto::SecretBytes value = encode_dkim_key(key);
        auto back = decode_dkim_key("dkim/example.org/vmx20261206", value);
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(back->domain, "example.org");
        EXPECT_EQ(back->selector, "vmx20261206");
        EXPECT_EQ(back->algorithm, algorithm);
        EXPECT_EQ(back->created_unix, 1'800'000'000);
        EXPECT_EQ(back->retired_unix, 1'800'086'400);
        EXPECT_EQ(text_of(back->private_pem), text_of(key.private_pem));
    }
}

TEST(DkimKeyValue, TamperedTruncatedOrMovedValuesAreRefused) {
    const DkimKey key = new_key("example.org", "s1", DkimAlgorithm::ed25519_sha256, 1'800'000'000);
    const std::string name = "dkim/example.org/s1";
    const crypto::SecretBytes value = encode_dkim_key(key);
    ASSERT_TRUE(decode_dkim_key(name, value));
    auto expect_corrupt = [&](const crypto::SecretBytes& v, std::string_view what) {
        auto r = decode_dkim_key(name, v);
        ASSERT_FALSE(r) << what;
        EXPECT_EQ(r.error(), store::StoreErrc::corrupt) << what;
    };
    expect_corrupt(changed(value, 0, 2), "an unknown format");
    expect_corrupt(changed(value, 1, 3), "an unknown algorithm");
    expect_corrupt(changed(value, 1, 1), "an ed25519 key read as rsa");
    expect_corrupt(changed(value, 2, 0x80), "a negative creation time");
    expect_corrupt(changed(value, 18, 200), "a name length past the end");
    expect_corrupt(crypto::SecretBytes::copy_of(value.view().first(value.size() / 2)), "a cut PEM");
    expect_corrupt(crypto::SecretBytes::copy_of(value.view().first(19)), "no name, no PEM");
    expect_corrupt(crypto::SecretBytes{}, "empty");
    // The value of one key under another key's name (the name inside no longer matches).
    auto moved = decode_dkim_key("dkim/example.org/s2", value);
    ASSERT_FALSE(moved);
    EXPECT_EQ(moved.error(), store::StoreErrc::corrupt);
    auto other_domain = decode_dkim_key("dkim/example.net/s1", value);
    ASSERT_FALSE(other_domain);
    EXPECT_EQ(other_domain.error(), store::StoreErrc::corrupt);
    // A name that is no DKIM key's at all.
    for (std::string_view bad : {"relayhost", "dkim/example.org", "dkim/Example.org/s1", "dkim//s1", "dkim/example.org/s1/x"}) {
        auto r = decode_dkim_key(bad, value);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), crypto::CryptoErrc::invalid_argument) << bad;
    }
}

// Keys stored through a real KeyService, as `dkim keygen` stores them.
struct DkimLoadTest : ::testing::Test {
    DkimLoadTest() {
        auto opened = open_keys(*tenant.layout, testing::fixed_master_key(0x65), "test master key");
        VMX_ASSERT(std::holds_alternative<OpenedKeys>(opened));
        env = std::get<OpenedKeys>(opened).env.get();  // stays where it is when OpenedKeys moves
        keys = std::make_unique<KeyService>(std::move(std::get<OpenedKeys>(opened)));
    }
    void store(const DkimKey& key) {
        const crypto::SecretBytes value = encode_dkim_key(key);
        ASSERT_TRUE(keys->set_appliance_secret(*dkim_secret_name(key.domain, key.selector), value.view(), kTestStart));
    }
    // Copies one record to another name, or flips its last byte, behind the KeyService's back.
    void rewrite(std::string_view from, std::string_view to, bool flip_last_byte) {
        auto dbi = env->open_dbi("appliance-secrets");
        ASSERT_TRUE(dbi);
        auto txn = store::WriteTxn::begin(*env);
        ASSERT_TRUE(txn);
        auto value = txn->get(*dbi, bytes_of(from));
        ASSERT_TRUE(value);
        std::vector<std::uint8_t> copy(value->begin(), value->end());
        if (flip_last_byte) copy.back() ^= 1;
        ASSERT_TRUE(txn->put(*dbi, bytes_of(to), copy));
        ASSERT_TRUE(txn->commit());
    }

    testing::TestTenant tenant;
    store::Env* env = nullptr;
    std::unique_ptr<KeyService> keys;
};

TEST_F(DkimLoadTest, BadKeysAreSkippedAndTheRestLoad) {
    store(new_key("example.org", "a", DkimAlgorithm::ed25519_sha256, kTestStart));
    store(new_key("example.net", "b", DkimAlgorithm::rsa_sha256, kTestStart));
    ASSERT_TRUE(keys->set_appliance_secret("relayhost", bytes_of("not a key, not dkim/"), kTestStart));
    ASSERT_TRUE(keys->set_appliance_secret("dkim/example.com/garbage", bytes_of("not a key frame"), kTestStart));
    rewrite("dkim/example.org/a", "dkim/example.org/tampered", true);
    rewrite("dkim/example.org/a", "dkim/example.org/moved", false);  // the seal is bound to its name
    auto loaded = load_dkim_keys(*keys);
    ASSERT_TRUE(loaded) << loaded.error().message();
    ASSERT_EQ(loaded->size(), 2u);
    EXPECT_EQ((*loaded)[0].domain, "example.net");  // in name order
    EXPECT_EQ((*loaded)[0].algorithm, DkimAlgorithm::rsa_sha256);
    EXPECT_EQ((*loaded)[1].domain, "example.org");
    EXPECT_EQ((*loaded)[1].selector, "a");
    EXPECT_TRUE(crypto::dkim_public_key((*loaded)[1].algorithm, (*loaded)[1].private_pem.view()));
}

TEST_F(DkimLoadTest, TheKeyringHoldsEachDomainsActiveKey) {
    store(new_key("example.org", "old", DkimAlgorithm::rsa_sha256, kTestStart - 100, kTestStart));  // retired
    store(new_key("example.org", "new", DkimAlgorithm::ed25519_sha256, kTestStart));
    // Both active for a moment (rotate stores the new key before it retires the old): the newer signs.
    store(new_key("example.net", "first", DkimAlgorithm::ed25519_sha256, kTestStart - 10));
    store(new_key("example.net", "second", DkimAlgorithm::ed25519_sha256, kTestStart));
    store(new_key("retired.example", "gone", DkimAlgorithm::ed25519_sha256, kTestStart - 100, kTestStart));
    auto loaded = load_dkim_keys(*keys);
    ASSERT_TRUE(loaded);
    const auto ring = dkim_keyring_of(std::move(*loaded));
    EXPECT_EQ(ring->by_domain.size(), 2u);  // a domain with only retired keys does not sign
    const DkimSigningKey* org = ring->find("example.org");
    ASSERT_NE(org, nullptr);
    EXPECT_EQ(org->selector, "new");
    EXPECT_EQ(org->algorithm, DkimAlgorithm::ed25519_sha256);
    EXPECT_TRUE(crypto::dkim_public_key(org->algorithm, org->private_pem.view()));
    EXPECT_EQ(ring->find("Example.ORG"), org);  // From: domains come in any case
    ASSERT_NE(ring->find("example.net"), nullptr);
    EXPECT_EQ(ring->find("example.net")->selector, "second");
    EXPECT_EQ(ring->find("retired.example"), nullptr);
    EXPECT_EQ(ring->find("sub.example.org"), nullptr);  // no key of a parent domain is used
    EXPECT_EQ(ring->find(""), nullptr);
    EXPECT_EQ(dkim_keyring_of({})->find("example.org"), nullptr);
}

}  // namespace
}  // namespace vmx
