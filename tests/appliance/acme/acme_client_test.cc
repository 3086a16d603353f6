// The ACME order flow against a CA played in the test (the real one, pebble, is integration.acme):
// the whole order, the key authorization published while the CA looks and gone after, a badNonce
// retried, a failed challenge's reason, refusals of unusable answers, a stop, and the board's rules.
#include "appliance/acme/acme_client.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "crypto/self_signed_cert.h"
#include "crypto/webauthn/webauthn.h"

namespace vmx {
namespace {

using nlohmann::json;

std::string decoded(const std::string& b64) {
    auto v = crypto::webauthn::base64url_decode(b64);
    return v ? std::string(v->begin(), v->end()) : std::string();
}

// A small CA: answers by URL, checks that each request carries the nonce it gave last and the URL
// it was sent to, and issues a certificate for the CSR's key... (a self-signed one naming the order's
// names, with the key the test gives it: the client must refuse a chain for another key).
class PlayedCa final : public HttpsTransport {
public:
    std::string base = "https://ca.test";
    int bad_nonces = 0;           // answer this many requests with badNonce first
    bool fail_challenge = false;  // the authorization turns invalid with a reason
    bool wrong_key = false;       // the chain is for another key
    std::string directory_override;
    const ChallengeBoard* board = nullptr;
    std::string seen_key_authorization;
    int requests = 0;

    Result<HttpsReply> get(const std::string& url) override {
        ++requests;
        HttpsReply r;
        r.status = 200;
        r.body = !directory_override.empty() ? directory_override
                 : json{{"newNonce", base + "/nonce"}, {"newAccount", base + "/acct"}, {"newOrder", base + "/order"}}.dump();
        EXPECT_EQ(url, base + "/dir");
        return r;
    }
    Result<HttpsReply> head(const std::string&) override {
        HttpsReply r;
        r.status = 200;
        r.replay_nonce = next_nonce();
        return r;
    }
    Result<HttpsReply> post_jose(const std::string& url, std::string_view body) override {
        ++requests;
        const json jws = json::parse(body);
        const json head = json::parse(decoded(jws["protected"]));
        EXPECT_EQ(head["url"], url);
        EXPECT_EQ(head["alg"], "ES256");
        HttpsReply r;
        if (head["nonce"] != nonce_) {
            r.status = 400;
            r.body = R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"stale"})";
        } else if (bad_nonces > 0) {
            --bad_nonces;
            r.status = 400;
            r.body = R"({"type":"urn:ietf:params:acme:error:badNonce","detail":"try again"})";
        } else {
            answer(url, head, decoded(jws["payload"]), r);
        }
        r.replay_nonce = next_nonce();
        return r;
    }

private:
    std::string next_nonce() { return nonce_ = "nonce" + std::to_string(++count_); }

    void answer(const std::string& url, const json& head, const std::string& payload, HttpsReply& r) {
        r.status = 200;
        if (url == base + "/acct") {
            EXPECT_TRUE(head.contains("jwk"));
            thumbprint_jwk_ = head["jwk"].dump();
            r.status = 201;
            r.location = base + "/acct/1";
            return;
        }
        EXPECT_EQ(head["kid"], base + "/acct/1");
        if (url == base + "/order") {
            const json request = json::parse(payload);
            for (const auto& id : request["identifiers"]) names_.push_back(id["value"]);
            r.status = 201;
            r.location = base + "/order/1";
            r.body = order("pending").dump();
        } else if (url == base + "/authz/1") {
            json authz = {{"status", authz_}, {"identifier", {{"type", "dns"}, {"value", names_.at(0)}}},
                          {"challenges", json::array({{{"type", "tls-alpn-01"}, {"url", base + "/other"}, {"token", "x"}},
                                                      {{"type", "http-01"}, {"url", base + "/chall/1"}, {"token", "tok_1-A"}}})}};
            if (authz_ == "invalid")
                authz["challenges"][1]["error"] = {{"type", "urn:ietf:params:acme:error:connection"}, {"detail", "refused"}};
            r.body = authz.dump();
        } else if (url == base + "/chall/1") {
            EXPECT_EQ(payload, "{}");
            // The CA looks now: the answer must be on the board.
            seen_key_authorization = board->find("tok_1-A").value_or("");
            authz_ = fail_challenge ? "invalid" : "valid";
            r.body = json{{"type", "http-01"}, {"status", "processing"}}.dump();
        } else if (url == base + "/order/1") {
            r.body = order(finalized_ ? "valid" : authz_ == "valid" ? "ready" : "pending").dump();
        } else if (url == base + "/finalize/1") {
            EXPECT_FALSE(json::parse(payload)["csr"].get<std::string>().empty());
            finalized_ = true;
            r.body = order("processing").dump();
        } else if (url == base + "/cert/1") {
            r.body = chain;
        } else {
            r.status = 404;
        }
    }

    json order(const std::string& status) {
        json o = {{"status", status}, {"authorizations", json::array({base + "/authz/1"})}, {"finalize", base + "/finalize/1"}};
        if (status == "valid") o["certificate"] = base + "/cert/1";
        return o;
    }

public:
    std::string chain;  // what /cert/1 serves

private:
    std::string nonce_;
    int count_ = 0;
    std::vector<std::string> names_;
    std::string authz_ = "pending";
    bool finalized_ = false;
    std::string thumbprint_jwk_;
};

class AcmeClientTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto key = crypto::AcmeKey::generate();
        ASSERT_TRUE(key);
        account_ = std::make_unique<crypto::AcmeKey>(std::move(*key));
        ca_.board = &board_;
    }
    Result<AcmeIssued> order(const std::vector<std::string>& names) {
        client_ = std::make_unique<AcmeClient>(ca_, board_, *account_, AcmeClientOptions{ca_.base + "/dir", "a@b.test", 1, 30},
                                               stopping_);
        return client_->order(names);
    }

    PlayedCa ca_;
    ChallengeBoard board_;
    std::unique_ptr<crypto::AcmeKey> account_;
    std::unique_ptr<AcmeClient> client_;
    std::atomic<bool> stopping_{false};
};

// The CA cannot sign for a key it only sees in the CSR here, so the test's CA serves a chain for
// a key the test controls, and the client's own check (chain_matches_key) decides. Both outcomes
// are checked: a chain for another key is refused; the flow up to that point is complete.
TEST_F(AcmeClientTest, WholeOrderPublishesTheAnswerThenRefusesAChainForAnotherKey) {
    auto other = crypto::make_self_signed({"mail.example.org", {"mail.example.org"}, {}, 30});
    ASSERT_TRUE(other);
    ca_.chain = other->certificate_pem;
    auto issued = order({"mail.example.org"});
    EXPECT_FALSE(issued);
    EXPECT_NE(client_->last_error().find("not for the key of the CSR"), std::string::npos) << client_->last_error();
    EXPECT_EQ(ca_.seen_key_authorization, "tok_1-A." + account_->thumbprint());
    EXPECT_EQ(board_.size(), 0u);  // cleared once the authorizations are done
}

TEST_F(AcmeClientTest, BadNonceIsTriedAgain) {
    ca_.bad_nonces = 3;
    ca_.chain = crypto::make_self_signed({"a.example.org", {"a.example.org"}, {}, 30})->certificate_pem;
    auto issued = order({"a.example.org"});
    EXPECT_FALSE(issued);  // the chain is for another key (see above): the order itself went through
    EXPECT_EQ(ca_.seen_key_authorization.substr(0, 8), "tok_1-A.");
}

TEST_F(AcmeClientTest, FailedChallengeNamesTheCasReasonAndClearsTheBoard) {
    ca_.fail_challenge = true;
    EXPECT_FALSE(order({"mail.example.org"}));
    EXPECT_NE(client_->last_error().find("status invalid"), std::string::npos) << client_->last_error();
    EXPECT_NE(client_->last_error().find("refused"), std::string::npos) << client_->last_error();
    EXPECT_EQ(board_.size(), 0u);
}

TEST_F(AcmeClientTest, RefusesUnusableAnswersAndNames) {
    ca_.directory_override = R"({"newNonce":"http://ca.test/nonce","newAccount":"https://ca.test/acct","newOrder":"https://ca.test/order"})";
    EXPECT_FALSE(order({"mail.example.org"}));
    EXPECT_NE(client_->last_error().find("directory"), std::string::npos);
    ca_.directory_override = "not json";
    EXPECT_FALSE(order({"mail.example.org"}));
    ca_.directory_override.clear();
    const int before = ca_.requests;
    EXPECT_FALSE(order({"bad name.example"}));
    EXPECT_FALSE(order({}));
    EXPECT_EQ(ca_.requests, before);  // refused before anything is sent
}

TEST_F(AcmeClientTest, StopEndsTheOrder) {
    stopping_ = true;
    EXPECT_FALSE(order({"mail.example.org"}));
    EXPECT_EQ(board_.size(), 0u);
}

TEST(ChallengeBoard, OnlyBase64urlTokensAndBounded) {
    ChallengeBoard board;
    EXPECT_TRUE(board.put("abc_-XYZ09", "abc_-XYZ09.thumb"));
    EXPECT_EQ(board.find("abc_-XYZ09"), "abc_-XYZ09.thumb");
    for (const char* bad : {"", "../etc", "a/b", "a%2Fb", "a b", "a.b"}) EXPECT_FALSE(board.put(bad, "x")) << bad;
    EXPECT_FALSE(board.find("nothing"));
    board.remove("abc_-XYZ09");
    EXPECT_EQ(board.size(), 0u);
    for (std::size_t i = 0; i < acme_tokens_max; ++i) EXPECT_TRUE(board.put("t" + std::to_string(i), "v"));
    EXPECT_FALSE(board.put("one-more", "v"));
    EXPECT_TRUE(board.put("t0", "replaced"));  // an existing token may be answered anew
}

}  // namespace
}  // namespace vmx
