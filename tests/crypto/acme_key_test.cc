// crypto/acme: P-256 keys through PEM, the JWK and its RFC 7638 thumbprint, ES256 JWS verified by
// libcrypto (raw r||s turned back into DER), CSRs read back with their names, chains read, and
// the refusals (wrong curve, bad names, no certificate).
#include "crypto/acme/acme_key.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include "crypto/self_signed_cert.h"
#include "crypto/webauthn/webauthn.h"

namespace vmx::crypto {
namespace {

std::vector<std::uint8_t> b64(std::string_view text) { return webauthn::base64url_decode(text).value_or(std::vector<std::uint8_t>{}); }

std::string text_of(const std::vector<std::uint8_t>& v) { return {v.begin(), v.end()}; }

// Verifies an ES256 JWS with the public key of its jwk (or of `key` when it names a kid).
bool jws_verifies(const std::string& jws_text, const AcmeKey& key) {
    const auto jws = nlohmann::json::parse(jws_text);
    const std::string input = jws["protected"].get<std::string>() + "." + jws["payload"].get<std::string>();
    const auto raw = b64(jws["signature"].get<std::string>());
    if (raw.size() != 64) return false;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw.data(), 32, nullptr), BN_bin2bn(raw.data() + 32, 32, nullptr));
    unsigned char* der = nullptr;
    const int der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    auto pem = key.to_pem();
    BIO* bio = BIO_new_mem_buf(pem->view().data(), static_cast<int>(pem->size()));
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
                    EVP_DigestVerify(ctx, der, static_cast<std::size_t>(der_len),
                                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    OPENSSL_free(der);
    return ok;
}

TEST(AcmeKey, PemRoundTripKeepsTheKey) {
    auto key = AcmeKey::generate();
    ASSERT_TRUE(key);
    auto pem = key->to_pem();
    ASSERT_TRUE(pem);
    auto back = AcmeKey::from_pem(pem->view());
    ASSERT_TRUE(back);
    EXPECT_EQ(back->jwk(), key->jwk());
    EXPECT_EQ(back->thumbprint(), key->thumbprint());
    EXPECT_NE(AcmeKey::generate()->thumbprint(), key->thumbprint());
}

TEST(AcmeKey, JwkIsCanonicalAndThumbprintIsItsSha256) {
    auto key = AcmeKey::generate();
    ASSERT_TRUE(key);
    const auto jwk = nlohmann::json::parse(key->jwk());
    EXPECT_EQ(jwk["kty"], "EC");
    EXPECT_EQ(jwk["crv"], "P-256");
    EXPECT_EQ(b64(jwk["x"].get<std::string>()).size(), 32u);
    EXPECT_EQ(b64(jwk["y"].get<std::string>()).size(), 32u);
    EXPECT_EQ(key->jwk(), jwk.dump());  // sorted members, no white space: RFC 7638's form
    std::array<unsigned char, 32> digest{};
    unsigned int n = 0;
    EVP_Digest(key->jwk().data(), key->jwk().size(), digest.data(), &n, EVP_sha256(), nullptr);
    EXPECT_EQ(key->thumbprint(), webauthn::base64url(digest));
}

TEST(AcmeKey, RefusesOtherKeys) {
    EVP_PKEY* p384 = EVP_EC_gen("P-384");
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, p384, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    EXPECT_FALSE(AcmeKey::from_pem({reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len)}));
    BIO_free(bio);
    EVP_PKEY_free(p384);
    const std::string junk = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    EXPECT_FALSE(AcmeKey::from_pem({reinterpret_cast<const std::uint8_t*>(junk.data()), junk.size()}));
}

TEST(Jws, SignedWithJwkOrKidAndVerifies) {
    auto key = AcmeKey::generate();
    ASSERT_TRUE(key);
    auto first = jws_sign(*key, {"nonce-1", "https://ca.example/new-acct", ""}, R"({"termsOfServiceAgreed":true})");
    ASSERT_TRUE(first);
    EXPECT_TRUE(jws_verifies(*first, *key));
    const auto head = nlohmann::json::parse(text_of(b64(nlohmann::json::parse(*first)["protected"].get<std::string>())));
    EXPECT_EQ(head["alg"], "ES256");
    EXPECT_EQ(head["nonce"], "nonce-1");
    EXPECT_EQ(head["url"], "https://ca.example/new-acct");
    EXPECT_EQ(head["jwk"].dump(), key->jwk());
    EXPECT_FALSE(head.contains("kid"));

    // A POST-as-GET: kid instead of jwk, an empty payload; a quote in a value stays inside its string.
    auto later = jws_sign(*key, {"n\"2", "https://ca.example/order/1", "https://ca.example/acct/7"}, "");
    ASSERT_TRUE(later);
    EXPECT_TRUE(jws_verifies(*later, *key));
    const auto jws = nlohmann::json::parse(*later);
    EXPECT_EQ(jws["payload"], "");
    const auto head2 = nlohmann::json::parse(text_of(b64(jws["protected"].get<std::string>())));
    EXPECT_EQ(head2["kid"], "https://ca.example/acct/7");
    EXPECT_EQ(head2["nonce"], "n\"2");
    EXPECT_FALSE(head2.contains("jwk"));
    EXPECT_FALSE(jws_verifies(*later, *AcmeKey::generate()));
}

TEST(Csr, NamesEveryHostAndCarriesTheKey) {
    auto key = AcmeKey::generate();
    ASSERT_TRUE(key);
    auto der = make_csr(*key, {"mail.example.org", "MX.example.org"});
    ASSERT_TRUE(der);
    const unsigned char* p = der->data();
    X509_REQ* req = d2i_X509_REQ(nullptr, &p, static_cast<long>(der->size()));
    ASSERT_NE(req, nullptr);
    EVP_PKEY* pub = X509_REQ_get0_pubkey(req);
    EXPECT_EQ(X509_REQ_verify(req, pub), 1);
    STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
    std::vector<std::string> names;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); ++i) {
        X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts, i);
        if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
        auto* alt = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext));
        for (int j = 0; j < sk_GENERAL_NAME_num(alt); ++j) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(alt, j);
            names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(g->d.dNSName)),
                               static_cast<std::size_t>(ASN1_STRING_length(g->d.dNSName)));
        }
        GENERAL_NAMES_free(alt);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    EXPECT_EQ(names, (std::vector<std::string>{"mail.example.org", "MX.example.org"}));
}

TEST(Csr, RefusesBadNames) {
    auto key = AcmeKey::generate();
    ASSERT_TRUE(key);
    EXPECT_FALSE(make_csr(*key, {}));
    for (const char* bad : {"", "a..b", ".lead", "trail.", "sp ace", "comma,DNS:evil.example", "x/y",
                            "a-very-long-label-that-goes-on-and-on-and-on-beyond-sixty-three-chars.example"})
        EXPECT_FALSE(make_csr(*key, {bad})) << bad;
    EXPECT_FALSE(make_csr(*key, std::vector<std::string>(acme_names_max + 1, "a.example")));
}

TEST(Chain, ReadsNamesExpiryAndMatchesItsKey) {
    SelfSignedRequest request;
    request.dns_names = {"Mail.Example.org", "pop.example.org"};
    request.common_name = "mail.example.org";
    request.days_valid = 10;
    auto pair = make_self_signed(request);
    ASSERT_TRUE(pair);
    auto info = read_chain(pair->certificate_pem + pair->certificate_pem);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->certificates, 2u);
    EXPECT_EQ(info->names, (std::vector<std::string>{"mail.example.org", "pop.example.org"}));
    EXPECT_NEAR(static_cast<double>(info->not_after_unix - info->not_before_unix), 10 * 86400.0, 600);
    EXPECT_FALSE(info->serial_hex.empty());
    auto key = AcmeKey::from_pem(pair->key_pem.view());
    ASSERT_TRUE(key);
    EXPECT_TRUE(chain_matches_key(pair->certificate_pem, *key));
    EXPECT_FALSE(chain_matches_key(pair->certificate_pem, *AcmeKey::generate()));
    EXPECT_FALSE(read_chain("no certificate here"));
    EXPECT_FALSE(read_chain(std::string(acme_chain_bytes_max + 1, 'A')));
}

}  // namespace
}  // namespace vmx::crypto
