// ACME keys, JWS, CSRs and chain reading with OpenSSL's libcrypto (see acme_key.h). Never include a
// wolfSSL header here: Debian's wolfSSL headers clash with OpenSSL's.
#include "crypto/acme/acme_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <climits>
#include <ctime>
#include <nlohmann/json.hpp>

#include "crypto/errc.h"
#include "crypto/openssl_handles.h"
#include "crypto/webauthn/webauthn.h"

namespace vmx::crypto {
namespace {

using webauthn::base64url;

using BnPtr = std::unique_ptr<BIGNUM, CFree<BN_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, CFree<ECDSA_SIG_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, CFree<X509_REQ_free>>;
using X509Ptr = std::unique_ptr<X509, CFree<X509_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, CFree<GENERAL_NAMES_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, CFree<X509_EXTENSION_free>>;

struct ExtStackFree {
    void operator()(STACK_OF(X509_EXTENSION) * s) const noexcept { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); }
};
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), ExtStackFree>;

constexpr std::size_t coordinate_bytes = 32;  // P-256

int no_passphrase(char*, int, int, void*) { return 0; }

BioPtr read_bio(std::string_view text) {
    if (text.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

bool is_p256(EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "EC") != 1) return false;
    std::array<char, 32> group{};
    std::size_t len = 0;
    return EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(), &len) == 1 &&
           std::string_view(group.data(), len) == "prime256v1";
}

Result<std::string> jwk_of(EVP_PKEY* key) {
    std::array<std::uint8_t, coordinate_bytes> x{}, y{};
    BIGNUM* bx = nullptr;
    BIGNUM* by = nullptr;
    const bool got = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &bx) == 1 &&
                     EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &by) == 1;
    const BnPtr hold_x(bx), hold_y(by);
    if (!got || BN_bn2binpad(bx, x.data(), static_cast<int>(x.size())) < 0 ||
        BN_bn2binpad(by, y.data(), static_cast<int>(y.size())) < 0)
        return fail_clearing(CryptoErrc::invalid_argument);
    // RFC 7638 3.2: the required members only, in lexicographic order, no white space.
    return R"({"crv":"P-256","kty":"EC","x":")" + base64url(x) + R"(","y":")" + base64url(y) + R"("})";
}

std::string b64url_text(std::string_view text) {
    return base64url(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

std::int64_t unix_of(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

void AcmeKey::Free::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

AcmeKey::AcmeKey(AcmeKey&&) noexcept = default;
AcmeKey& AcmeKey::operator=(AcmeKey&&) noexcept = default;
AcmeKey::~AcmeKey() = default;

Result<AcmeKey> AcmeKey::generate() {
    PkeyPtr key(EVP_EC_gen("P-256"));
    if (!key) return fail_clearing(CryptoErrc::key_generation_failed);
    auto jwk = jwk_of(key.get());
    if (!jwk) return fail(jwk.error());
    return AcmeKey(key.release(), std::move(*jwk));
}

Result<AcmeKey> AcmeKey::from_pem(std::span<const std::uint8_t> pem) {
    const BioPtr bio = read_bio(std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()));
    if (!bio) return fail_clearing(CryptoErrc::invalid_argument);
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key || !is_p256(key.get())) return fail_clearing(CryptoErrc::invalid_argument);
    auto jwk = jwk_of(key.get());
    if (!jwk) return fail(jwk.error());
    return AcmeKey(key.release(), std::move(*jwk));
}

Result<SecretBytes> AcmeKey::to_pem() const {
    const BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return fail_clearing(CryptoErrc::key_generation_failed);
    const char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    if (n <= 0 || data == nullptr) return fail_clearing(CryptoErrc::key_generation_failed);
    return SecretBytes::copy_of(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data),
                                                              static_cast<std::size_t>(n)));
}

std::string AcmeKey::thumbprint() const {
    std::array<std::uint8_t, 32> digest{};
    unsigned int len = 0;
    if (EVP_Digest(jwk_.data(), jwk_.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    return base64url(digest);
}

Result<std::vector<std::uint8_t>> AcmeKey::sign(std::span<const std::uint8_t> data) const {
    const MdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t der_len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &der_len, data.data(), data.size()) != 1)
        return fail_clearing(CryptoErrc::invalid_argument);
    std::vector<std::uint8_t> der(der_len);
    if (EVP_DigestSign(ctx.get(), der.data(), &der_len, data.data(), data.size()) != 1)
        return fail_clearing(CryptoErrc::invalid_argument);
    const unsigned char* p = der.data();
    const SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
    if (!sig) return fail_clearing(CryptoErrc::invalid_argument);
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    std::vector<std::uint8_t> raw(2 * coordinate_bytes);
    if (BN_bn2binpad(r, raw.data(), coordinate_bytes) < 0 ||
        BN_bn2binpad(s, raw.data() + coordinate_bytes, coordinate_bytes) < 0)
        return fail_clearing(CryptoErrc::invalid_argument);
    return raw;
}

Result<std::string> jws_sign(const AcmeKey& key, const JwsHeader& header, std::string_view payload) {
    nlohmann::json head = {{"alg", "ES256"}, {"nonce", header.nonce}, {"url", header.url}};
    if (header.kid.empty())
        head["jwk"] = nlohmann::json::parse(key.jwk(), nullptr, false);
    else
        head["kid"] = header.kid;
    // A value that is not UTF-8 is replaced, never thrown over (the CA's text reaches here).
    const std::string protected64 = b64url_text(head.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    const std::string payload64 = b64url_text(payload);
    const std::string signing_input = protected64 + "." + payload64;
    auto sig = key.sign(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(signing_input.data()),
                                                      signing_input.size()));
    if (!sig) return fail(sig.error());
    const nlohmann::json jws = {{"protected", protected64}, {"payload", payload64}, {"signature", base64url(*sig)}};
    return jws.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool valid_acme_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > acme_name_bytes_max || name.front() == '.' || name.back() == '.') return false;
    std::size_t label = 0;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (!ok) return false;
        label = c == '.' ? 0 : label + 1;
        if (label > 63) return false;
    }
    return name.find("..") == std::string_view::npos;
}

Result<std::vector<std::uint8_t>> make_csr(const AcmeKey& key, const std::vector<std::string>& names) {
    if (names.empty() || names.size() > acme_names_max) return fail(CryptoErrc::invalid_argument);
    std::string alt;
    for (const auto& name : names) {
        if (!valid_acme_name(name)) return fail(CryptoErrc::invalid_argument);
        alt += (alt.empty() ? "DNS:" : ",DNS:") + name;
    }
    const ReqPtr req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) return fail_clearing(CryptoErrc::invalid_argument);
    X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    if (names.front().size() <= 64 &&  // a CN holds at most 64 characters; the SAN carries the names anyway
        X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(names.front().c_str()),
                                   -1, -1, 0) != 1)
        return fail_clearing(CryptoErrc::invalid_argument);
    ExtStackPtr exts(sk_X509_EXTENSION_new_null());
    ExtPtr san(X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, alt.c_str()));
    if (!exts || !san || sk_X509_EXTENSION_push(exts.get(), san.get()) == 0) return fail_clearing(CryptoErrc::invalid_argument);
    (void)san.release();  // the stack owns it now
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1 || X509_REQ_set_pubkey(req.get(), key.key_.get()) != 1 ||
        X509_REQ_sign(req.get(), key.key_.get(), EVP_sha256()) <= 0)
        return fail_clearing(CryptoErrc::invalid_argument);
    const int len = i2d_X509_REQ(req.get(), nullptr);
    if (len <= 0) return fail_clearing(CryptoErrc::invalid_argument);
    std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
    unsigned char* out = der.data();
    if (i2d_X509_REQ(req.get(), &out) != len) return fail_clearing(CryptoErrc::invalid_argument);
    return der;
}

namespace {

X509Ptr first_certificate(std::string_view pem) {
    if (pem.size() > acme_chain_bytes_max) return nullptr;
    const BioPtr bio = read_bio(pem);
    if (!bio) return nullptr;
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
}

}  // namespace

Result<ChainInfo> read_chain(std::string_view pem) {
    if (pem.size() > acme_chain_bytes_max) return fail(CryptoErrc::invalid_argument);
    const BioPtr bio = read_bio(pem);
    if (!bio) return fail_clearing(CryptoErrc::invalid_argument);
    ChainInfo info;
    X509Ptr leaf;
    while (X509Ptr cert{PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)}) {
        ++info.certificates;
        if (!leaf) leaf = std::move(cert);
    }
    ERR_clear_error();  // the loop ends on "no start line"
    if (!leaf) return fail(CryptoErrc::invalid_argument);
    info.not_before_unix = unix_of(X509_get0_notBefore(leaf.get()));
    info.not_after_unix = unix_of(X509_get0_notAfter(leaf.get()));
    if (const BnPtr serial{ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf.get()), nullptr)}) {
        if (char* hex = BN_bn2hex(serial.get())) {
            info.serial_hex = hex;
            OPENSSL_free(hex);
        }
    }
    std::array<char, 256> issuer{};
    if (X509_NAME_oneline(X509_get_issuer_name(leaf.get()), issuer.data(), static_cast<int>(issuer.size())) != nullptr)
        info.issuer = issuer.data();
    const NamesPtr alt(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf.get(), NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt.get()); ++i) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(alt.get(), i);
        if (g->type != GEN_DNS) continue;
        const ASN1_IA5STRING* s = g->d.dNSName;
        std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
        for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
        info.names.push_back(std::move(name));
    }
    ERR_clear_error();
    return info;
}

bool chain_matches_key(std::string_view pem, const AcmeKey& key) {
    const X509Ptr leaf = first_certificate(pem);
    if (!leaf) {
        ERR_clear_error();
        return false;
    }
    const EVP_PKEY* pub = X509_get0_pubkey(leaf.get());
    const bool same = pub != nullptr && EVP_PKEY_eq(pub, key.key_.get()) == 1;
    ERR_clear_error();
    return same;
}

}  // namespace vmx::crypto
