// The mail-authentication pieces that need no DNS data: the organisational domain (public suffix
// list plus RFC 7489's default rule), the From: domains DMARC looks at, the signer's field (checked
// against an independent verifier in tests/integration/mailauth_test.py), and a whole check against
// a DNS server that never answers: bounded by the message's time, every result temperror or none.
#include <gtest/gtest.h>

#include <chrono>

#include "appliance/mailauth/dkim_keyring.h"
#include "appliance/mailauth/dkim_sign.h"
#include "appliance/mailauth/dmarc_check.h"
#include "appliance/mailauth/message_checks.h"
#include "crypto/dkim_key.h"
#include "tests/net/dns/unbound_server.h"

namespace vmx {
namespace {

TEST(MailAuth, OrganizationalDomain) {
    ASSERT_TRUE(init_dmarc_library(default_suffix_list));
    EXPECT_EQ(organizational_domain("mail.example.com"), "example.com");
    EXPECT_EQ(organizational_domain("a.b.example.co.uk"), "example.co.uk");
    EXPECT_EQ(organizational_domain("example.com"), "example.com");
    // Suffixes the list does not know: the default rule, so a.example and b.example never align.
    EXPECT_EQ(organizational_domain("x.a.example"), "a.example");
    EXPECT_NE(organizational_domain("a.example"), organizational_domain("b.example"));
}

TEST(MailAuth, FromDomainsAreDistinctAndLowerCase) {
    EXPECT_EQ(from_domains("From: Ann <ann@Example.COM>\r\n\r\nx"), std::vector<std::string>{"example.com"});
    EXPECT_EQ(from_domains("From: a@x.example, b@y.example, c@X.example\r\n\r\n")->size(), 2u);
    EXPECT_TRUE(from_domains("Subject: none\r\n\r\n")->empty());
}

// What could hide the domain DMARC protects: nothing is trusted (RFC 7489 6.6.1).
TEST(MailAuth, UnreadableFromSectionsAreRefused) {
    EXPECT_FALSE(from_domains("From: a@x.example\r\nFrom: b@x.example\r\n\r\n"));     // two From: fields
    EXPECT_FALSE(from_domains("junk line\r\nFrom: ceo@bank.example\r\n\r\n"));         // From: after junk
    EXPECT_FALSE(from_domains("From: <unterminated@x.example\r\n\r\n"));               // not a mailbox-list
    std::string many;
    for (int i = 0; i < 1200; ++i) many += "X-Field: " + std::to_string(i) + "\r\n";
    EXPECT_FALSE(from_domains(many + "From: ceo@bank.example\r\n\r\n"));               // past the limits
}

TEST(MailAuth, SignatureCoversFromOnceMoreAndFoldsWithCrlf) {
    for (const auto algorithm : {crypto::DkimAlgorithm::rsa_sha256, crypto::DkimAlgorithm::ed25519_sha256}) {
        auto pem = crypto::generate_dkim_key(algorithm);
        ASSERT_TRUE(pem);
        DkimSigningKey key{"sel1", algorithm, std::move(*pem)};
        auto field = dkim_sign("From: ann@example.com\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nbody\r\n",
                               "example.com", key, 1796000000);
        ASSERT_TRUE(field) << field.error().message();
        EXPECT_EQ(field->rfind("DKIM-Signature: v=1; a=", 0), 0u) << *field;
        EXPECT_NE(field->find(algorithm == crypto::DkimAlgorithm::rsa_sha256 ? "a=rsa-sha256" : "a=ed25519-sha256"),
                  std::string::npos);
        EXPECT_NE(field->find("c=relaxed/relaxed"), std::string::npos);
        EXPECT_NE(field->find("d=example.com"), std::string::npos);
        EXPECT_NE(field->find("s=sel1"), std::string::npos);
        EXPECT_EQ(field->find("l="), std::string::npos);  // the whole body
        std::string unfolded;
        for (char c : *field)
            if (c != '\r' && c != '\n' && c != '\t' && c != ' ') unfolded += c;
        const std::size_t h = unfolded.find(";h=");
        ASSERT_NE(h, std::string::npos);
        const std::string list = unfolded.substr(h + 3, unfolded.find(';', h + 3) - h - 3);
        std::size_t froms = 0;
        for (std::size_t at = 0; (at = list.find("rom", at)) != std::string::npos; ++at) ++froms;
        EXPECT_EQ(froms, 2u) << list;
        for (std::size_t i = 0; i < field->size(); ++i) {
            if ((*field)[i] == '\n') {
                EXPECT_TRUE(i > 0 && (*field)[i - 1] == '\r');
            }
        }
        EXPECT_EQ(field->substr(field->size() - 2), "\r\n");
    }
}

TEST(MailAuth, UnreadableKeyIsAnError) {
    DkimSigningKey key{"sel1", crypto::DkimAlgorithm::rsa_sha256,
                       crypto::SecretBytes::copy_of(std::span<const std::uint8_t>(
                           reinterpret_cast<const std::uint8_t*>("not a key"), 9))};
    EXPECT_FALSE(dkim_sign("From: a@example.com\r\n\r\nx\r\n", "example.com", key, 1796000000));
}

TEST(MailAuth, SilentDnsCostsTheMessagesTimeAtMost) {
    ASSERT_TRUE(init_dmarc_library(default_suffix_list));
    net::dns::testing::SilentServer silent;
    CheckSettings settings;
    settings.authserv_id = "mx.example.net";
    settings.time_max_ms = 400;
    settings.resolver.servers = {silent.address()};
    settings.resolver.query_timeout_ms = 5000;
    auto checks = MessageChecks::create(settings);
    ASSERT_TRUE(checks) << checks.error().message();
    const std::string message =
        "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s; c=relaxed/relaxed; h=from; bh=x; b=y\r\n"
        "From: ann@example.com\r\n\r\nbody\r\n";
    const auto started = std::chrono::steady_clock::now();
    const CheckVerdict v = (*checks)->check({"192.0.2.1", "mail.example.com", "ann@example.com"}, message);
    const auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_LT(elapsed, std::chrono::seconds(4));  // 400 ms of budget; generous for a loaded machine
    EXPECT_TRUE(v.budget_exhausted);
    EXPECT_FALSE(v.refuse);
    EXPECT_EQ(v.spf, SpfResult::temperror);
    EXPECT_NE(v.dmarc.result, DmarcResult::pass);
    EXPECT_EQ(v.header.rfind("Authentication-Results: mx.example.net;", 0), 0u) << v.header;
}

}  // namespace
}  // namespace vmx
