// crypto/dkim_key: a new key of each algorithm is PKCS#8 PEM; its p= value is the public half (a
// signature made with the private key verifies under the key decoded from p=, and fails for a
// changed message or another key); wrong algorithms and garbage are refused. Checked with OpenSSL's
// EVP API directly, never a wolfSSL header (the two clash).
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "crypto/dkim_key.h"
#include "crypto/errc.h"

namespace vmx::crypto {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string text_of(const SecretBytes& s) { return {reinterpret_cast<const char*>(s.view().data()), s.size()}; }
std::span<const std::uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::vector<std::uint8_t> base64_decode(const std::string& text) {
    std::vector<std::uint8_t> out(text.size());
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
    EXPECT_GE(n, 0) << text;
    if (n < 0) return {};
    std::size_t size = static_cast<std::size_t>(n);
    // EVP_DecodeBlock counts the padding as zero bytes.
    for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
    out.resize(size);
    return out;
}

Pkey private_of(const SecretBytes& pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.view().data(), static_cast<int>(pem.size())));
    return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// What a verifier does with the record: p= back to a key.
Pkey public_of(DkimAlgorithm algorithm, const std::string& p) {
    const std::vector<std::uint8_t> der = base64_decode(p);
    if (algorithm == DkimAlgorithm::ed25519_sha256)
        return Pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, der.data(), der.size()));
    const unsigned char* in = der.data();
    return Pkey(d2i_PUBKEY(nullptr, &in, static_cast<long>(der.size())));
}

// rsa-sha256 hashes with SHA-256; ed25519 signs the message itself (the SHA-256 hash in DKIM).
const EVP_MD* digest_of(DkimAlgorithm algorithm) {
    return algorithm == DkimAlgorithm::rsa_sha256 ? EVP_sha256() : nullptr;
}

std::vector<std::uint8_t> sign(DkimAlgorithm algorithm, EVP_PKEY* key, std::string_view message) {
    MdCtx ctx(EVP_MD_CTX_new());
    std::size_t n = 0;
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, digest_of(algorithm), nullptr, key), 1);
    EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &n, bytes_of(message).data(), message.size()), 1);
    std::vector<std::uint8_t> sig(n);
    EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &n, bytes_of(message).data(), message.size()), 1);
    sig.resize(n);
    return sig;
}

bool verifies(DkimAlgorithm algorithm, EVP_PKEY* key, std::string_view message, const std::vector<std::uint8_t>& sig) {
    MdCtx ctx(EVP_MD_CTX_new());
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, digest_of(algorithm), nullptr, key) != 1) return false;
    return EVP_DigestVerify(ctx.get(), sig.data(), sig.size(), bytes_of(message).data(), message.size()) == 1;
}

class DkimKeyTest : public ::testing::TestWithParam<DkimAlgorithm> {};

TEST_P(DkimKeyTest, PublicKeyVerifiesWhatThePrivateKeySigned) {
    const DkimAlgorithm algorithm = GetParam();
    auto pem = generate_dkim_key(algorithm);
    ASSERT_TRUE(pem) << pem.error().message();
    EXPECT_TRUE(text_of(*pem).starts_with("-----BEGIN PRIVATE KEY-----\n")) << "PKCS#8, unencrypted";
    EXPECT_TRUE(text_of(*pem).ends_with("-----END PRIVATE KEY-----\n"));
    Pkey priv = private_of(*pem);
    ASSERT_TRUE(priv);
    auto p = dkim_public_key(algorithm, pem->view());
    ASSERT_TRUE(p) << p.error().message();
    Pkey pub = public_of(algorithm, *p);
    ASSERT_TRUE(pub) << *p;
    if (algorithm == DkimAlgorithm::rsa_sha256) {
        EXPECT_EQ(EVP_PKEY_get_base_id(priv.get()), EVP_PKEY_RSA);
        EXPECT_EQ(EVP_PKEY_get_bits(pub.get()), 2048);
        EXPECT_EQ(p->size(), 392u);  // base64 of a 294-byte SubjectPublicKeyInfo
    } else {
        EXPECT_EQ(EVP_PKEY_get_base_id(priv.get()), EVP_PKEY_ED25519);
        EXPECT_EQ(p->size(), 44u);  // base64 of the raw 32 bytes (RFC 8463), no SPKI wrapper
    }
    const std::string message = "from:a@example.test\r\nsubject:hi\r\n";
    const auto sig = sign(algorithm, priv.get(), message);
    EXPECT_TRUE(verifies(algorithm, pub.get(), message, sig));
    EXPECT_FALSE(verifies(algorithm, pub.get(), "from:b@example.test\r\nsubject:hi\r\n", sig));

    // Another key: another p=, and it does not verify the first key's signature.
    auto other = generate_dkim_key(algorithm);
    ASSERT_TRUE(other);
    auto other_p = dkim_public_key(algorithm, other->view());
    ASSERT_TRUE(other_p);
    EXPECT_NE(*other_p, *p);
    EXPECT_FALSE(verifies(algorithm, public_of(algorithm, *other_p).get(), message, sig));
}

// dkim_signature: rsa-sha256 verifies as RSASSA-PKCS1-v1_5 over SHA-256 of the data; ed25519-sha256
// as Ed25519 over the SHA-256 hash of the data (RFC 8463 3), never over the data itself.
TEST_P(DkimKeyTest, SignatureOverTheDataVerifiesWithThePublishedKey) {
    const DkimAlgorithm algorithm = GetParam();
    auto pem = generate_dkim_key(algorithm);
    ASSERT_TRUE(pem);
    auto p = dkim_public_key(algorithm, pem->view());
    ASSERT_TRUE(p);
    Pkey pub = public_of(algorithm, *p);
    const std::string data = "from:a@example.test\r\ndkim-signature:v=1; a=x; b=";
    auto b = dkim_signature(algorithm, pem->view(), data);
    ASSERT_TRUE(b) << b.error().message();
    const std::vector<std::uint8_t> sig = base64_decode(*b);
    std::string signed_input = data;
    if (algorithm == DkimAlgorithm::ed25519_sha256) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        ASSERT_EQ(EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr), 1);
        EXPECT_FALSE(verifies(algorithm, pub.get(), data, sig));
        signed_input.assign(reinterpret_cast<const char*>(digest), n);
    }
    EXPECT_TRUE(verifies(algorithm, pub.get(), signed_input, sig));
    EXPECT_EQ(dkim_body_hash(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");  // RFC 6376 3.4.4 example
    auto other = generate_dkim_key(algorithm == DkimAlgorithm::rsa_sha256 ? DkimAlgorithm::ed25519_sha256
                                                                          : DkimAlgorithm::rsa_sha256);
    ASSERT_TRUE(other);
    EXPECT_FALSE(dkim_signature(algorithm, other->view(), data));  // a key of the other algorithm
}

TEST_P(DkimKeyTest, AKeyOfTheOtherAlgorithmOrGarbageIsRefused) {
    const DkimAlgorithm algorithm = GetParam();
    const DkimAlgorithm other = algorithm == DkimAlgorithm::rsa_sha256 ? DkimAlgorithm::ed25519_sha256
                                                                        : DkimAlgorithm::rsa_sha256;
    auto pem = generate_dkim_key(other);
    ASSERT_TRUE(pem);
    auto wrong = dkim_public_key(algorithm, pem->view());
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error(), CryptoErrc::invalid_argument);
    for (std::string_view garbage : {"", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}) {
        auto refused = dkim_public_key(algorithm, bytes_of(garbage));
        ASSERT_FALSE(refused) << garbage;
        EXPECT_EQ(refused.error(), CryptoErrc::invalid_argument);
    }
    // A truncated key is refused too.
    std::string cut = text_of(*pem);
    cut.resize(cut.size() / 2);
    EXPECT_FALSE(dkim_public_key(other, bytes_of(cut)));
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DkimKeyTest,
                         ::testing::Values(DkimAlgorithm::rsa_sha256, DkimAlgorithm::ed25519_sha256),
                         [](const auto& param_info) { return std::string(to_string(param_info.param)); });

TEST(DkimKeyNames, RecordTextAndAlgorithmNames) {
    EXPECT_EQ(to_string(DkimAlgorithm::rsa_sha256), "rsa");
    EXPECT_EQ(to_string(DkimAlgorithm::ed25519_sha256), "ed25519");
    EXPECT_EQ(dkim_key_type(DkimAlgorithm::ed25519_sha256), "ed25519");
    EXPECT_EQ(parse_dkim_algorithm("rsa"), DkimAlgorithm::rsa_sha256);
    EXPECT_EQ(parse_dkim_algorithm("ed25519"), DkimAlgorithm::ed25519_sha256);
    EXPECT_EQ(parse_dkim_algorithm("RSA"), std::nullopt);
    EXPECT_EQ(parse_dkim_algorithm("rsa-sha256"), std::nullopt);
    EXPECT_EQ(dkim_txt_record(DkimAlgorithm::ed25519_sha256, "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
              "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

}  // namespace
}  // namespace vmx::crypto
