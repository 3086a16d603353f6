// DKIM signing keys with OpenSSL's libcrypto (see dkim_key.h). Any thread: every call owns its
// handles. The PEM text only ever lives in OpenSSL's secure-memory BIO (wiped when freed) and in
// SecretBytes. Never include a wolfSSL header here: Debian's wolfSSL headers clash with OpenSSL's.
#include "crypto/dkim_key.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <limits>
#include <memory>
#include <vector>

#include "crypto/errc.h"
#include "crypto/openssl_handles.h"

namespace vmx::crypto {
namespace {

constexpr int rsa_bits = 2048;  // RFC 8301 3.2: signers use at least 2048 bits
constexpr std::size_t ed25519_public_bytes = 32;

int pkey_id_of(DkimAlgorithm algorithm) noexcept {
    return algorithm == DkimAlgorithm::rsa_sha256 ? EVP_PKEY_RSA : EVP_PKEY_ED25519;
}

Result<PkeyPtr> new_key(DkimAlgorithm algorithm) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(pkey_id_of(algorithm), nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0) return fail_clearing(CryptoErrc::key_generation_failed);
    if (algorithm == DkimAlgorithm::rsa_sha256 && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits) <= 0)
        return fail_clearing(CryptoErrc::key_generation_failed);
    EVP_PKEY* raw = nullptr;
    if (EVP_PKEY_keygen(ctx.get(), &raw) <= 0) return fail_clearing(CryptoErrc::key_generation_failed);
    return PkeyPtr(raw);
}

// Never asks for a passphrase (the default callback would prompt on the terminal): an encrypted
// PEM simply fails to load.
int no_passphrase(char*, int, int, void*) { return 0; }

Result<PkeyPtr> load_private(DkimAlgorithm algorithm, std::span<const std::uint8_t> pem) {
    if (pem.empty() || pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        return fail(CryptoErrc::invalid_argument);
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return fail_clearing(CryptoErrc::invalid_argument);
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!key || EVP_PKEY_get_base_id(key.get()) != pkey_id_of(algorithm))
        return fail_clearing(CryptoErrc::invalid_argument);
    return key;
}

std::string base64_of(std::span<const std::uint8_t> bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a NUL
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

Result<std::string> rsa_public(EVP_PKEY* key) {
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(key, &der);  // SubjectPublicKeyInfo, as RFC 6376 3.6.1 asks for k=rsa
    if (n <= 0) return fail_clearing(CryptoErrc::invalid_argument);
    std::string out = base64_of({der, static_cast<std::size_t>(n)});
    OPENSSL_free(der);
    return out;
}

Result<std::string> ed25519_public(EVP_PKEY* key) {
    std::uint8_t raw[ed25519_public_bytes];
    std::size_t n = sizeof raw;
    // RFC 8463 4.2: the bare 32-byte key, not wrapped in a SubjectPublicKeyInfo.
    if (EVP_PKEY_get_raw_public_key(key, raw, &n) <= 0 || n != sizeof raw)
        return fail_clearing(CryptoErrc::invalid_argument);
    return base64_of(raw);
}

}  // namespace

std::string_view to_string(DkimAlgorithm algorithm) noexcept {
    return algorithm == DkimAlgorithm::rsa_sha256 ? "rsa" : "ed25519";
}

std::string_view dkim_key_type(DkimAlgorithm algorithm) noexcept {
    return algorithm == DkimAlgorithm::rsa_sha256 ? "rsa" : "ed25519";
}

std::optional<DkimAlgorithm> parse_dkim_algorithm(std::string_view text) noexcept {
    if (text == "rsa") return DkimAlgorithm::rsa_sha256;
    if (text == "ed25519") return DkimAlgorithm::ed25519_sha256;
    return std::nullopt;
}

Result<SecretBytes> generate_dkim_key(DkimAlgorithm algorithm) {
    auto key = new_key(algorithm);
    if (!key) return fail(key.error());
    // A secure-memory BIO: its buffer is wiped when it grows and when it is freed.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio) return fail_clearing(CryptoErrc::key_generation_failed);
    if (PEM_write_bio_PKCS8PrivateKey(bio.get(), key->get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        return fail_clearing(CryptoErrc::key_generation_failed);
    char* text = nullptr;
    const long n = BIO_ctrl(bio.get(), BIO_CTRL_INFO, 0, &text);  // BIO_get_mem_data, without its C cast
    if (n <= 0 || text == nullptr) return fail_clearing(CryptoErrc::key_generation_failed);
    return SecretBytes::copy_of({reinterpret_cast<const std::uint8_t*>(text), static_cast<std::size_t>(n)});
}

Result<std::string> dkim_public_key(DkimAlgorithm algorithm, std::span<const std::uint8_t> private_pem) {
    auto key = load_private(algorithm, private_pem);
    if (!key) return fail(key.error());
    return algorithm == DkimAlgorithm::rsa_sha256 ? rsa_public(key->get()) : ed25519_public(key->get());
}

std::string dkim_txt_record(DkimAlgorithm algorithm, std::string_view public_key) {
    std::string out = "v=DKIM1; k=";
    out += dkim_key_type(algorithm);
    out += "; p=";
    out += public_key;
    return out;
}

std::string dkim_body_hash(std::string_view canonical_body) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(canonical_body.data(), canonical_body.size(), digest, &n, EVP_sha256(), nullptr) != 1) {
        ERR_clear_error();
        return {};
    }
    return base64_of({digest, n});
}

Result<std::string> dkim_signature(DkimAlgorithm algorithm, std::span<const std::uint8_t> private_pem,
                                   std::string_view data) {
    auto key = load_private(algorithm, private_pem);
    if (!key) return fail(key.error());
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return fail_clearing(CryptoErrc::invalid_argument);
    std::string input(data);
    const EVP_MD* md = EVP_sha256();
    if (algorithm == DkimAlgorithm::ed25519_sha256) {
        // RFC 8463 3: Ed25519 signs the SHA-256 hash of the data (PureEdDSA, no digest of its own).
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr) != 1)
            return fail_clearing(CryptoErrc::invalid_argument);
        input.assign(reinterpret_cast<const char*>(digest), n);
        md = nullptr;
    }
    std::size_t length = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key->get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, in, input.size()) != 1)
        return fail_clearing(CryptoErrc::invalid_argument);
    std::vector<unsigned char> signature(length);
    if (EVP_DigestSign(ctx.get(), signature.data(), &length, in, input.size()) != 1)
        return fail_clearing(CryptoErrc::invalid_argument);
    signature.resize(length);
    return base64_of(signature);
}

}  // namespace vmx::crypto
