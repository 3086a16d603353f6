// RFC 3394 section 2.2.1/2.2.2 (the W / W^-1 form with the t counter) on a single-block AES-256.
// The block cipher is ipsec-mb's AES-ECB job (AES-NI or VAES: constant time). Debian's wolfSSL also
// offers wc_AesEncryptDirect, but it is built without AES-NI, so its software AES indexes tables by
// key-dependent values (cache-timing); the KEKs here are scope keys and master-derived keys.
// The job API is stateful (job slots inside the manager), so each thread has its own IMB_MGR.
#define NO_COMPAT_IMB_API_053
#include "crypto/key_wrap.h"

#include <intel-ipsec-mb.h>

#include <array>
#include <cstring>

#include "core/assert.h"
#include "crypto/errc.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {
namespace {

constexpr std::size_t block_bytes = 16;
constexpr std::size_t semiblock_bytes = 8;
constexpr std::size_t round_keys_bytes = std::size_t{15} * 16;  // AES-256: 14 rounds + the initial key
constexpr std::array<std::uint8_t, semiblock_bytes> default_iv = {0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6};

class JobManager {
public:
    JobManager() noexcept : manager_(alloc_mb_mgr(0)) {
        VMX_ASSERT(manager_ != nullptr);
        init_mb_mgr_auto(manager_, nullptr);
    }
    ~JobManager() { free_mb_mgr(manager_); }
    JobManager(const JobManager&) = delete;
    JobManager& operator=(const JobManager&) = delete;
    IMB_MGR* get() const noexcept { return manager_; }

private:
    IMB_MGR* manager_;
};

IMB_MGR* job_manager() noexcept {
    thread_local JobManager manager;
    return manager.get();
}

// One AES-256 key schedule (both directions), wiped on destruction.
class AesBlock {
public:
    explicit AesBlock(std::span<const std::uint8_t, key_wrap_kek_bytes> key) noexcept : manager_(job_manager()) {
        IMB_AES_KEYEXP_256(manager_, key.data(), encrypt_keys_.data(), decrypt_keys_.data());
    }
    ~AesBlock() {
        secure_wipe(encrypt_keys_);
        secure_wipe(decrypt_keys_);
    }
    AesBlock(const AesBlock&) = delete;
    AesBlock& operator=(const AesBlock&) = delete;

    void encrypt(std::array<std::uint8_t, block_bytes>& block) noexcept { run(block, IMB_DIR_ENCRYPT); }
    void decrypt(std::array<std::uint8_t, block_bytes>& block) noexcept { run(block, IMB_DIR_DECRYPT); }

private:
    // In place, one block. ECB jobs complete inside submit; the flush loop is only a safety net.
    // Every field is set here from constants and our own buffers, so the job is submitted without
    // ipsec-mb's parameter checks (about 10% of a wrap), and a failed job is a programmer error.
    void run(std::array<std::uint8_t, block_bytes>& block, IMB_CIPHER_DIRECTION direction) noexcept {
        IMB_JOB* job = IMB_GET_NEXT_JOB(manager_);
        job->cipher_mode = IMB_CIPHER_ECB;
        job->cipher_direction = direction;
        job->chain_order = direction == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
        job->hash_alg = IMB_AUTH_NULL;
        job->enc_keys = encrypt_keys_.data();
        job->dec_keys = decrypt_keys_.data();
        job->key_len_in_bytes = IMB_KEY_256_BYTES;
        job->src = block.data();
        job->dst = block.data();
        job->cipher_start_src_offset_in_bytes = 0;
        job->msg_len_to_cipher_in_bytes = block_bytes;
        job->iv = nullptr;
        job->iv_len_in_bytes = 0;
        job->hash_start_src_offset_in_bytes = 0;
        job->msg_len_to_hash_in_bytes = 0;
        job->auth_tag_output = nullptr;
        job->auth_tag_output_len_in_bytes = 0;
        IMB_JOB* done = IMB_SUBMIT_JOB_NOCHECK(manager_);
        while (done == nullptr) {
            done = IMB_FLUSH_JOB(manager_);
            VMX_ASSERT(done != nullptr);
        }
        VMX_ASSERT(done == job && done->status == IMB_STATUS_COMPLETED);
    }

    IMB_MGR* manager_;
    alignas(16) std::array<std::uint8_t, round_keys_bytes> encrypt_keys_{};
    alignas(16) std::array<std::uint8_t, round_keys_bytes> decrypt_keys_{};
};

// A ^= t, with t as a 64-bit big-endian integer (RFC 3394 section 2.2.1).
void xor_counter(std::uint8_t* a, std::uint64_t t) noexcept {
    for (std::size_t k = 0; k < semiblock_bytes; ++k)
        a[semiblock_bytes - 1 - k] = static_cast<std::uint8_t>(a[semiblock_bytes - 1 - k] ^ ((t >> (8 * k)) & 0xFF));
}

}  // namespace

Result<void> key_wrap(std::span<const std::uint8_t, key_wrap_kek_bytes> kek, std::span<const std::uint8_t> key,
                      std::span<std::uint8_t> out) {
    if (key.size() < key_wrap_key_bytes_min || key.size() % semiblock_bytes != 0 ||
        out.size() != key.size() + key_wrap_overhead_bytes) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    const std::size_t n = key.size() / semiblock_bytes;
    AesBlock aes(kek);
    std::array<std::uint8_t, block_bytes> b{};                 // B = A | R[i]
    std::memcpy(b.data(), default_iv.data(), semiblock_bytes);  // A = IV
    std::uint8_t* r = out.data() + semiblock_bytes;             // R[1..n] live in the output
    std::memmove(r, key.data(), key.size());
    for (std::uint64_t j = 0; j <= 5; ++j) {
        for (std::size_t i = 1; i <= n; ++i) {
            std::uint8_t* ri = r + (i - 1) * semiblock_bytes;
            std::memcpy(b.data() + semiblock_bytes, ri, semiblock_bytes);
            aes.encrypt(b);                                   // B = AES(K, A | R[i])
            xor_counter(b.data(), n * j + i);                 // A = MSB(64, B) ^ t
            std::memcpy(ri, b.data() + semiblock_bytes, semiblock_bytes);  // R[i] = LSB(64, B)
        }
    }
    std::memcpy(out.data(), b.data(), semiblock_bytes);  // C[0] = A
    secure_wipe(b);
    return {};
}

Result<void> key_unwrap(std::span<const std::uint8_t, key_wrap_kek_bytes> kek, std::span<const std::uint8_t> wrapped,
                        std::span<std::uint8_t> out) {
    if (wrapped.size() < key_wrap_key_bytes_min + key_wrap_overhead_bytes || wrapped.size() % semiblock_bytes != 0 ||
        out.size() + key_wrap_overhead_bytes != wrapped.size()) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    const std::size_t n = out.size() / semiblock_bytes;
    AesBlock aes(kek);
    std::array<std::uint8_t, block_bytes> b{};
    std::memcpy(b.data(), wrapped.data(), semiblock_bytes);  // A = C[0] (read before out may overwrite it)
    std::uint8_t* r = out.data();
    std::memmove(r, wrapped.data() + semiblock_bytes, out.size());
    for (std::uint64_t j = 6; j-- > 0;) {
        for (std::size_t i = n; i >= 1; --i) {
            std::uint8_t* ri = r + (i - 1) * semiblock_bytes;
            xor_counter(b.data(), n * j + i);  // A ^ t
            std::memcpy(b.data() + semiblock_bytes, ri, semiblock_bytes);
            aes.decrypt(b);                    // B = AES-1(K, (A ^ t) | R[i])
            std::memcpy(ri, b.data() + semiblock_bytes, semiblock_bytes);
        }
    }
    const bool intact = constant_time_equal(std::span<const std::uint8_t>(b).first(semiblock_bytes), default_iv);
    secure_wipe(b);
    if (!intact) {
        secure_wipe(out);
        return fail(CryptoErrc::authentication_failed);
    }
    return {};
}

}  // namespace vmx::crypto
