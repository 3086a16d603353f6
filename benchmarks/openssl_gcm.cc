// OpenSSL's EVP AES-256-GCM for crypto_bench (see openssl_gcm.h). No wolfSSL header may be included
// here. The key is set once per context; each call only sets the IV, as a TLS stack does per record.
#include "benchmarks/openssl_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>

namespace vmx::bench {

struct OpensslGcm {
    EVP_CIPHER_CTX* seal = nullptr;
    EVP_CIPHER_CTX* open = nullptr;
};

namespace {
constexpr int iv_bytes = 12;
constexpr int tag_bytes = 16;
}  // namespace

OpensslGcm* openssl_gcm_new(const std::uint8_t* key) {
    auto* gcm = new OpensslGcm{EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_new()};
    const bool ok = gcm->seal != nullptr && gcm->open != nullptr &&
                    EVP_EncryptInit_ex(gcm->seal, EVP_aes_256_gcm(), nullptr, key, nullptr) == 1 &&
                    EVP_DecryptInit_ex(gcm->open, EVP_aes_256_gcm(), nullptr, key, nullptr) == 1 &&
                    EVP_CIPHER_CTX_ctrl(gcm->seal, EVP_CTRL_GCM_SET_IVLEN, iv_bytes, nullptr) == 1 &&
                    EVP_CIPHER_CTX_ctrl(gcm->open, EVP_CTRL_GCM_SET_IVLEN, iv_bytes, nullptr) == 1;
    if (!ok) {
        openssl_gcm_free(gcm);
        return nullptr;
    }
    return gcm;
}

void openssl_gcm_free(OpensslGcm* gcm) {
    if (gcm == nullptr) return;
    EVP_CIPHER_CTX_free(gcm->seal);
    EVP_CIPHER_CTX_free(gcm->open);
    delete gcm;
}

bool openssl_gcm_seal(OpensslGcm* gcm, const std::uint8_t* iv, const std::uint8_t* aad, std::size_t aad_bytes,
                      const std::uint8_t* in, std::size_t bytes, std::uint8_t* out, std::uint8_t* tag) {
    if (bytes > INT_MAX || aad_bytes > INT_MAX) return false;
    int n = 0;
    int tail = 0;
    return EVP_EncryptInit_ex(gcm->seal, nullptr, nullptr, nullptr, iv) == 1 &&
           EVP_EncryptUpdate(gcm->seal, nullptr, &n, aad, static_cast<int>(aad_bytes)) == 1 &&
           EVP_EncryptUpdate(gcm->seal, out, &n, in, static_cast<int>(bytes)) == 1 &&
           EVP_EncryptFinal_ex(gcm->seal, out + n, &tail) == 1 &&
           EVP_CIPHER_CTX_ctrl(gcm->seal, EVP_CTRL_GCM_GET_TAG, tag_bytes, tag) == 1;
}

bool openssl_gcm_open(OpensslGcm* gcm, const std::uint8_t* iv, const std::uint8_t* aad, std::size_t aad_bytes,
                      const std::uint8_t* in, std::size_t bytes, std::uint8_t* out, const std::uint8_t* tag) {
    if (bytes > INT_MAX || aad_bytes > INT_MAX) return false;
    int n = 0;
    int tail = 0;
    // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but only reads the tag.
    return EVP_DecryptInit_ex(gcm->open, nullptr, nullptr, nullptr, iv) == 1 &&
           EVP_CIPHER_CTX_ctrl(gcm->open, EVP_CTRL_GCM_SET_TAG, tag_bytes, const_cast<std::uint8_t*>(tag)) == 1 &&
           EVP_DecryptUpdate(gcm->open, nullptr, &n, aad, static_cast<int>(aad_bytes)) == 1 &&
           EVP_DecryptUpdate(gcm->open, out, &n, in, static_cast<int>(bytes)) == 1 &&
           EVP_DecryptFinal_ex(gcm->open, out + n, &tail) == 1;
}

const char* openssl_version_text() { return OpenSSL_version(OPENSSL_VERSION); }

}  // namespace vmx::bench
