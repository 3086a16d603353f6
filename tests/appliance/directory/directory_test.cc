// The directory: rules for organisations, domains and users (each refusal names its field), allowed
// senders and hourly limits, the blind index (no name on disk in the clear), sealing (records
// cannot be swapped), reopening.
#include "appliance/directory/directory.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "store/errc.h"
#include "tests/store/store_test_util.h"
#include "tests/support/test_keys.h"

namespace vmx {
namespace {

using store::testing::TempDir;
constexpr std::int64_t t0 = 1'790'000'000;

struct Fixture {
    Fixture() { open(); }
    void open() {
        store::EnvOptions o;
        o.map_bytes = std::size_t{8} << 20;
        o.map_bytes_max = std::size_t{8} << 20;
        auto e = store::Env::open(dir.sub("directory"), o);
        VMX_ASSERT(e);
        env = std::move(*e);
        auto master = vmx::testing::fixed_master_key(0x31);
        auto index_key = Directory::derive_index_key(master.material.view());
        VMX_ASSERT(index_key);
        auto d = Directory::open(*env, std::move(*index_key));
        VMX_ASSERT(d);
        directory = std::make_unique<Directory>(std::move(*d));
    }
    void close() {
        directory.reset();
        env.reset();
    }
    static std::shared_ptr<const crypto::KeySet> make_keys() {
        auto ring = crypto::Keyring::create(vmx::testing::fixed_master_key(0x31));
        VMX_ASSERT(ring.ensure_scope_key(appliance_scope, t0));
        return ring.snapshot();
    }
    store::ReadTxn read() {
        auto txn = store::ReadTxn::begin(*env);
        VMX_ASSERT(txn);
        return std::move(*txn);
    }
    void populate() {
        ASSERT_TRUE(directory->add_org(*keys, "Acme Ltd", crypto::Plan::pro, t0));
        ASSERT_TRUE(directory->add_domain(*keys, "acme.example", "Acme Ltd", t0));
        ASSERT_TRUE(directory->add_user(*keys, "Alice@Acme.example", "hash-a", 1000, t0));
        ASSERT_TRUE(directory->add_user(*keys, "bob@acme.example", "hash-b", 0, t0));
    }

    TempDir dir;
    std::shared_ptr<const crypto::KeySet> keys = make_keys();
    std::unique_ptr<store::Env> env;
    std::unique_ptr<Directory> directory;
};

TEST(DirectoryTest, AddsOrganisationsDomainsAndUsersAndFindsThemCaseBlind) {
    Fixture f;
    f.populate();
    auto txn = f.read();
    auto alice = f.directory->find_user(txn, *f.keys, "ALICE@acme.EXAMPLE");
    ASSERT_TRUE(alice) << alice.error().message();
    EXPECT_EQ(alice->address, "alice@acme.example");
    EXPECT_EQ(alice->password_hash, "hash-a");
    EXPECT_EQ(alice->quota_bytes, 1000u);
    EXPECT_EQ(alice->state, UserState::active);
    auto org = f.directory->org(txn, *f.keys, alice->org_id);
    ASSERT_TRUE(org);
    EXPECT_EQ(org->name, "Acme Ltd");
    EXPECT_EQ(org->plan, crypto::Plan::pro);
    auto domain = f.directory->find_domain(txn, *f.keys, "Acme.Example");
    ASSERT_TRUE(domain);
    EXPECT_EQ(domain->id, alice->domain_id);
    auto users = f.directory->list_users(txn, *f.keys, std::string_view("acme.example"));
    ASSERT_TRUE(users);
    EXPECT_EQ(users->size(), 2u);
}

TEST(DirectoryTest, EachRefusalNamesTheField) {
    Fixture f;
    f.populate();
    const auto& k = *f.keys;
    auto& d = *f.directory;
    EXPECT_EQ(d.add_org(k, "", crypto::Plan::pro, t0).error(), DirectoryErrc::invalid_org_name);
    EXPECT_EQ(d.add_org(k, "bad\nname", crypto::Plan::pro, t0).error(), DirectoryErrc::invalid_org_name);
    EXPECT_EQ(d.add_org(k, "acme ltd", crypto::Plan::starter, t0).error(), DirectoryErrc::org_exists);
    EXPECT_EQ(d.add_domain(k, "-bad.example", "Acme Ltd", t0).error(), DirectoryErrc::invalid_domain);
    EXPECT_EQ(d.add_domain(k, "other.example", "Nobody", t0).error(), DirectoryErrc::unknown_org);
    EXPECT_EQ(d.add_domain(k, "ACME.example", "Acme Ltd", t0).error(), DirectoryErrc::domain_exists);
    EXPECT_EQ(d.add_user(k, "bob@@acme.example", "", 0, t0).error(), DirectoryErrc::invalid_address);
    EXPECT_EQ(d.add_user(k, "\"a@b\"@acme.example", "", 0, t0).error(), DirectoryErrc::invalid_address);
    EXPECT_EQ(d.add_user(k, "carol@unknown.example", "", 0, t0).error(), DirectoryErrc::unknown_domain);
    EXPECT_EQ(d.add_user(k, "BOB@acme.example", "", 0, t0).error(), DirectoryErrc::user_exists);
    OrgPolicy bad;
    bad.allowed_networks = {"10.0.0.0/8", "10.0.0.1/8"};  // host bits set
    EXPECT_EQ(d.set_policy(k, "Acme Ltd", bad).error(), DirectoryErrc::invalid_network);
    EXPECT_EQ(d.set_plan(k, "Nobody", crypto::Plan::starter).error(), DirectoryErrc::unknown_org);
    auto txn = f.read();
    EXPECT_EQ(d.find_user(txn, k, "nobody@acme.example").error(), DirectoryErrc::unknown_user);
    EXPECT_EQ(d.list_users(txn, k, std::string_view("none.example")).error(), DirectoryErrc::unknown_domain);
    EXPECT_EQ(make_error_code(DirectoryErrc::invalid_address).message(), "invalid address");
}

TEST(DirectoryTest, PolicyPlanAndUserChangesPersistAcrossReopen) {
    Fixture f;
    f.populate();
    OrgPolicy policy;
    policy.session_max_s = 8 * 3600;
    policy.require_mfa = true;
    policy.allowed_networks = {"192.0.2.0/24", "2001:db8::/32"};
    ASSERT_TRUE(f.directory->set_policy(*f.keys, "Acme Ltd", policy));
    ASSERT_TRUE(f.directory->set_plan(*f.keys, "Acme Ltd", crypto::Plan::ultimate));
    {
        auto txn = f.read();
        auto bob = f.directory->find_user(txn, *f.keys, "bob@acme.example");
        ASSERT_TRUE(bob);
        bob->state = UserState::disabled;
        bob->app_passwords.push_back({"phone", "app-hash", t0});
        bob->totp_secret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        txn.reset();
        ASSERT_TRUE(f.directory->update_user(*f.keys, *bob));
    }
    f.close();
    f.open();
    auto txn = f.read();
    auto org = f.directory->find_org(txn, *f.keys, "ACME LTD");
    ASSERT_TRUE(org);
    EXPECT_EQ(org->plan, crypto::Plan::ultimate);
    EXPECT_EQ(org->policy, policy);
    auto bob = f.directory->find_user(txn, *f.keys, "bob@acme.example");
    ASSERT_TRUE(bob);
    EXPECT_EQ(bob->state, UserState::disabled);
    ASSERT_EQ(bob->app_passwords.size(), 1u);
    EXPECT_EQ(bob->app_passwords[0].label, "phone");
    EXPECT_EQ(bob->totp_secret.size(), 10u);
    auto orgs = f.directory->list_orgs(txn, *f.keys);
    ASSERT_TRUE(orgs);
    EXPECT_EQ(orgs->size(), 1u);
}

TEST(DirectoryTest, AllowedSendersAreAddedAndRemovedCaseBlindAndPersist) {
    Fixture f;
    f.populate();
    auto& d = *f.directory;
    const auto& k = *f.keys;
    auto added = d.add_sender(k, "ALICE@acme.example", "Sales@ACME.example");
    ASSERT_TRUE(added) << added.error().message();
    EXPECT_EQ(added->allowed_senders, std::vector<std::string>{"sales@acme.example"});
    ASSERT_TRUE(d.add_sender(k, "alice@acme.example", "alice@elsewhere.example"));
    f.close();
    f.open();
    {
        auto txn = f.read();
        auto alice = f.directory->find_user(txn, k, "alice@acme.example");
        ASSERT_TRUE(alice);
        EXPECT_EQ(alice->allowed_senders, (std::vector<std::string>{"sales@acme.example", "alice@elsewhere.example"}));
        EXPECT_EQ(alice->password_hash, "hash-a");  // the rest of the user is untouched
        auto bob = f.directory->find_user(txn, k, "bob@acme.example");
        ASSERT_TRUE(bob);
        EXPECT_TRUE(bob->allowed_senders.empty());
    }
    auto removed = f.directory->remove_sender(k, "alice@acme.example", "SALES@acme.example");
    ASSERT_TRUE(removed);
    EXPECT_EQ(removed->allowed_senders, std::vector<std::string>{"alice@elsewhere.example"});
}

TEST(DirectoryTest, AllowedSenderRefusalsSayWhy) {
    Fixture f;
    f.populate();
    auto& d = *f.directory;
    const auto& k = *f.keys;
    ASSERT_TRUE(d.add_sender(k, "alice@acme.example", "sales@acme.example"));
    EXPECT_EQ(d.add_sender(k, "alice@acme.example", "SALES@acme.example").error(), DirectoryErrc::sender_exists);
    EXPECT_EQ(d.add_sender(k, "alice@acme.example", "Alice@Acme.example").error(), DirectoryErrc::sender_is_own_address);
    EXPECT_EQ(d.add_sender(k, "alice@acme.example", "bad@@acme.example").error(), DirectoryErrc::invalid_address);
    EXPECT_EQ(d.add_sender(k, "alice@acme.example", "").error(), DirectoryErrc::invalid_address);
    EXPECT_EQ(d.add_sender(k, "nobody@acme.example", "sales@acme.example").error(), DirectoryErrc::unknown_user);
    EXPECT_EQ(d.add_sender(k, "bad@@acme.example", "sales@acme.example").error(), DirectoryErrc::invalid_address);
    EXPECT_EQ(d.remove_sender(k, "alice@acme.example", "sales@acme.exampl").error(), DirectoryErrc::unknown_sender);
    EXPECT_EQ(d.remove_sender(k, "bob@acme.example", "sales@acme.example").error(), DirectoryErrc::unknown_sender);
    EXPECT_EQ(d.remove_sender(k, "nobody@acme.example", "sales@acme.example").error(), DirectoryErrc::unknown_user);
    for (std::size_t i = 1; i < allowed_senders_per_user_max; ++i)
        ASSERT_TRUE(d.add_sender(k, "alice@acme.example", "s" + std::to_string(i) + "@acme.example")) << i;
    EXPECT_EQ(d.add_sender(k, "alice@acme.example", "one-more@acme.example").error(), DirectoryErrc::too_many_senders);
    // update_user keeps the same rules for a list edited by other code.
    auto txn = f.read();
    auto bob = d.find_user(txn, k, "bob@acme.example");
    txn.reset();
    ASSERT_TRUE(bob);
    bob->allowed_senders = {"Upper@acme.example"};
    EXPECT_EQ(d.update_user(k, *bob).error(), DirectoryErrc::invalid_address);
    bob->allowed_senders = {"x@acme.example", "x@acme.example"};
    EXPECT_EQ(d.update_user(k, *bob).error(), DirectoryErrc::sender_exists);
}

TEST(DirectoryTest, HourlySubmissionLimitsPersistAndAreBounded) {
    Fixture f;
    f.populate();
    OrgPolicy policy;
    policy.submission_messages_per_hour = 500;
    policy.submission_recipients_per_hour = submission_per_hour_max;
    ASSERT_TRUE(f.directory->set_policy(*f.keys, "Acme Ltd", policy));
    OrgPolicy too_many = policy;
    too_many.submission_messages_per_hour = submission_per_hour_max + 1;
    EXPECT_EQ(f.directory->set_policy(*f.keys, "Acme Ltd", too_many).error(), DirectoryErrc::invalid_hourly_limit);
    f.close();
    f.open();
    auto txn = f.read();
    auto org = f.directory->find_org(txn, *f.keys, "Acme Ltd");
    ASSERT_TRUE(org);
    EXPECT_EQ(org->policy, policy);
}

TEST(DirectoryTest, NoNameIsOnDiskInTheClear) {
    Fixture f;
    ASSERT_TRUE(f.directory->add_org(*f.keys, "Zebracorn Holdings", crypto::Plan::starter, t0));
    ASSERT_TRUE(f.directory->add_domain(*f.keys, "zebracorn.example", "Zebracorn Holdings", t0));
    ASSERT_TRUE(f.directory->add_user(*f.keys, "quagga@zebracorn.example", "$argon2id$secret-hash", 0, t0));
    f.close();
    std::ifstream in(f.dir.path() + "/directory/data.mdb", std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(data.empty());
    for (const char* needle : {"Zebracorn", "zebracorn", "quagga", "argon2id"})
        EXPECT_EQ(data.find(needle), std::string::npos) << needle;
}

TEST(DirectoryTest, SwappedRecordsFailToOpen) {
    Fixture f;
    f.populate();
    // An attacker with write access to the file swaps Alice's and Bob's sealed records.
    std::uint64_t alice_id = 0, bob_id = 0;
    {
        auto txn = f.read();
        alice_id = f.directory->find_user(txn, *f.keys, "alice@acme.example")->id;
        bob_id = f.directory->find_user(txn, *f.keys, "bob@acme.example")->id;
    }
    auto records = f.env->open_dbi("records");
    ASSERT_TRUE(records);
    auto key = [](std::uint64_t id) {
        std::vector<std::uint8_t> k{static_cast<std::uint8_t>(Directory::Kind::user)};
        for (int i = 0; i < 8; ++i) k.push_back(static_cast<std::uint8_t>(id >> (56 - 8 * i)));
        return k;
    };
    {
        auto txn = store::WriteTxn::begin(*f.env);
        ASSERT_TRUE(txn);
        std::vector<std::uint8_t> a(txn->get(*records, key(alice_id))->begin(), txn->get(*records, key(alice_id))->end());
        std::vector<std::uint8_t> b(txn->get(*records, key(bob_id))->begin(), txn->get(*records, key(bob_id))->end());
        ASSERT_TRUE(txn->put(*records, key(alice_id), b));
        ASSERT_TRUE(txn->put(*records, key(bob_id), a));
        ASSERT_TRUE(txn->commit());
    }
    auto txn = f.read();
    EXPECT_FALSE(f.directory->find_user(txn, *f.keys, "alice@acme.example"));
    EXPECT_FALSE(f.directory->user(txn, *f.keys, bob_id));
}

TEST(DirectoryTest, DecodersRefuseMalformedRecords) {
    User u;
    u.id = 7;
    u.address = "a@b.example";
    u.app_passwords.push_back({"ok label", "h", t0});
    auto bytes = encode(u);
    ASSERT_TRUE(decode_user(bytes));
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_FALSE(decode_user(std::span(bytes).first(cut))) << "truncated at " << cut;
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode_user(longer));
    Organisation o;
    o.id = 1;
    o.name = "Org";
    auto ob = encode(o);
    ob[1 + 8 + 2 + 3] = 9;  // plan byte out of range
    EXPECT_FALSE(decode_organisation(ob));
}

}  // namespace
}  // namespace vmx
