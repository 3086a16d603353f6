// HKDF-SHA256 over wc_HKDF (extract then expand). wolfSSL's options.h must come before any other
// wolfSSL header, or its structures are laid out differently from the library's.
// hkdf_sha256_cached_into keeps, per thread, each PRK with its HMAC key state (SHA-256 of PRK ^ ipad
// and of PRK ^ opad, RFC 2104), so a 32-byte output costs one ipsec-mb HMAC-SHA256 job (SHA-NI or
// AVX-512 multi-buffer, constant time) over info || 0x01: T(1) of RFC 5869 section 2.3.
#define NO_COMPAT_IMB_API_053
#include "crypto/hkdf.h"

#include <intel-ipsec-mb.h>

// clang-format off
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
// clang-format on

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>

#include "core/assert.h"
#include "crypto/errc.h"

namespace vmx::crypto {
namespace {

bool fits_word32(std::size_t bytes) noexcept { return bytes <= std::numeric_limits<word32>::max(); }

// wolfCrypt wants a null pointer exactly when a length is zero.
const byte* pointer_or_null(std::span<const std::uint8_t> s) noexcept { return s.empty() ? nullptr : s.data(); }

constexpr std::size_t prk_bytes = 32;  // HashLen
constexpr std::size_t ikm_bytes = 32;
constexpr std::size_t hmac_block_bytes = 64;
constexpr std::size_t hmac_state_bytes = 32;  // a SHA-256 state after one block
constexpr std::size_t expand_info_bytes_max = 192;  // longer infos take wc_HKDF_Expand

// ipsec-mb's job API is stateful (job slots in the manager): one manager per thread. Where the CPU
// has SHA-NI, the SSE manager is chosen: its HMAC-SHA256 uses SHA-NI, while the AVX-512 manager runs
// a 16-lane multi-buffer SHA-256 whose flush of one job costs about three times as much.
class JobManager {
public:
    JobManager() noexcept : manager_(alloc_mb_mgr(0)) {
        VMX_ASSERT(manager_ != nullptr);
        init_mb_mgr_auto(manager_, nullptr);
        if ((manager_->features & IMB_FEATURE_SHANI) != 0) init_mb_mgr_sse(manager_);
    }
    ~JobManager() { free_mb_mgr(manager_); }
    JobManager(const JobManager&) = delete;
    JobManager& operator=(const JobManager&) = delete;
    IMB_MGR* get() const noexcept { return manager_; }

private:
    IMB_MGR* manager_;
};

// Per-thread entries of (ikm, PRK, HMAC inner state, HMAC outer state) in SecretBytes (locked,
// wiped when the thread ends). `used_` stamps are not secret: they pick the least recently used
// entry to evict, and an evicted entry is wiped before reuse.
class PrkCache {
public:
    struct Entry {
        const std::uint8_t* prk;
        const std::uint8_t* inner;
        const std::uint8_t* outer;
    };

    PrkCache() : secrets_(SecretBytes::zeroed(hkdf_prk_cache_entries * entry_bytes + hmac_block_bytes)) {}
    PrkCache(const PrkCache&) = delete;
    PrkCache& operator=(const PrkCache&) = delete;

    IMB_MGR* manager() const noexcept { return jobs_.get(); }

    // The entry for `ikm`, computed and cached if absent; nullopt on an internal wolfCrypt failure.
    std::optional<Entry> find(std::span<const std::uint8_t, ikm_bytes> ikm) noexcept {
        std::size_t victim = 0;
        for (std::size_t e = 0; e < hkdf_prk_cache_entries; ++e) {
            if (used_[e] != 0 && constant_time_equal(at(e, 0, ikm_bytes), ikm)) {
                used_[e] = ++clock_;
                return entry(e);
            }
            if (used_[e] < used_[victim]) victim = e;
        }
        secure_wipe(at(victim, 0, entry_bytes));
        used_[victim] = 0;
        if (!fill(victim, ikm)) {
            secure_wipe(at(victim, 0, entry_bytes));
            return std::nullopt;
        }
        used_[victim] = ++clock_;
        return entry(victim);
    }

    void clear() noexcept {
        secure_wipe(secrets_.mutable_view());
        used_.fill(0);
    }

    std::size_t used() const noexcept {
        return static_cast<std::size_t>(std::count_if(used_.begin(), used_.end(), [](auto u) { return u != 0; }));
    }

private:
    static constexpr std::size_t prk_offset = ikm_bytes;
    static constexpr std::size_t inner_offset = prk_offset + prk_bytes;
    static constexpr std::size_t outer_offset = inner_offset + hmac_state_bytes;
    static constexpr std::size_t entry_bytes = outer_offset + hmac_state_bytes;

    std::span<std::uint8_t> at(std::size_t e, std::size_t offset, std::size_t bytes) noexcept {
        return secrets_.mutable_view().subspan(e * entry_bytes + offset, bytes);
    }
    Entry entry(std::size_t e) noexcept {
        return {at(e, prk_offset, prk_bytes).data(), at(e, inner_offset, hmac_state_bytes).data(),
                at(e, outer_offset, hmac_state_bytes).data()};
    }

    // HKDF-Extract with an empty salt, then the HMAC key state of the PRK (key padded to a block,
    // XORed with ipad / opad, one SHA-256 block each), built in the scratch block at the end.
    bool fill(std::size_t e, std::span<const std::uint8_t, ikm_bytes> ikm) noexcept {
        std::memcpy(at(e, 0, ikm_bytes).data(), ikm.data(), ikm_bytes);
        std::uint8_t* prk = at(e, prk_offset, prk_bytes).data();
        if (wc_HKDF_Extract(WC_SHA256, nullptr, 0, ikm.data(), ikm_bytes, prk) != 0) return false;
        const std::span<std::uint8_t> block =
            secrets_.mutable_view().subspan(hkdf_prk_cache_entries * entry_bytes, hmac_block_bytes);
        for (std::size_t i = 0; i < hmac_block_bytes; ++i)
            block[i] = static_cast<std::uint8_t>((i < prk_bytes ? prk[i] : 0) ^ 0x36);
        IMB_SHA256_ONE_BLOCK(manager(), block.data(), at(e, inner_offset, hmac_state_bytes).data());
        for (std::size_t i = 0; i < hmac_block_bytes; ++i)
            block[i] = static_cast<std::uint8_t>((i < prk_bytes ? prk[i] : 0) ^ 0x5c);
        IMB_SHA256_ONE_BLOCK(manager(), block.data(), at(e, outer_offset, hmac_state_bytes).data());
        secure_wipe(block);
        return true;
    }

    JobManager jobs_;
    SecretBytes secrets_;  // entries, then one scratch block
    std::array<std::uint64_t, hkdf_prk_cache_entries> used_{};  // 0: empty
    std::uint64_t clock_ = 0;
};

// HMAC-SHA256(PRK, message) from the cached key state, into a full 32-byte tag. Every field of the
// job is ours, so a failed job is a programmer error.
void hmac_sha256(IMB_MGR* manager, const PrkCache::Entry& key, std::span<const std::uint8_t> message,
                 std::span<std::uint8_t, 32> tag) noexcept {
    IMB_JOB* job = IMB_GET_NEXT_JOB(manager);
    job->cipher_mode = IMB_CIPHER_NULL;
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->chain_order = IMB_ORDER_HASH_CIPHER;
    job->hash_alg = IMB_AUTH_HMAC_SHA_256;
    job->enc_keys = nullptr;
    job->dec_keys = nullptr;
    job->key_len_in_bytes = 0;
    job->src = message.data();
    job->dst = tag.data();
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = 0;
    job->iv = nullptr;
    job->iv_len_in_bytes = 0;
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bytes = message.size();
    job->u.HMAC._hashed_auth_key_xor_ipad = key.inner;
    job->u.HMAC._hashed_auth_key_xor_opad = key.outer;
    job->auth_tag_output = tag.data();
    job->auth_tag_output_len_in_bytes = tag.size();
    IMB_JOB* done = IMB_SUBMIT_JOB(manager);
    while (done == nullptr) {
        done = IMB_FLUSH_JOB(manager);
        VMX_ASSERT(done != nullptr);
    }
    VMX_ASSERT(done == job && done->status == IMB_STATUS_COMPLETED);
}

PrkCache& prk_cache() {
    thread_local PrkCache cache;
    return cache;
}

}  // namespace

void hkdf_prk_cache_clear() noexcept { prk_cache().clear(); }

std::size_t hkdf_prk_cache_used() noexcept { return prk_cache().used(); }

Result<void> hkdf_sha256_cached_into(std::span<const std::uint8_t, 32> ikm, std::span<const std::uint8_t> info,
                                     std::span<std::uint8_t> out) {
    if (out.empty() || out.size() > hkdf_sha256_output_bytes_max || !fits_word32(info.size())) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    PrkCache& cache = prk_cache();
    const auto key = cache.find(ikm);
    if (!key) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    if (out.size() <= prk_bytes && info.size() <= expand_info_bytes_max) {
        // T(1) = HMAC(PRK, info || 0x01); L <= HashLen takes its first L bytes.
        std::array<std::uint8_t, expand_info_bytes_max + 1> message;
        if (!info.empty()) std::memcpy(message.data(), info.data(), info.size());
        message[info.size()] = 0x01;
        std::array<std::uint8_t, 32> t1;
        hmac_sha256(cache.manager(), *key, std::span<const std::uint8_t>(message).first(info.size() + 1), t1);
        std::memcpy(out.data(), t1.data(), out.size());
        secure_wipe(t1);
        return {};
    }
    if (wc_HKDF_Expand(WC_SHA256, key->prk, prk_bytes, pointer_or_null(info), static_cast<word32>(info.size()),
                       out.data(), static_cast<word32>(out.size())) != 0) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    return {};
}

Result<void> hkdf_sha256_into(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                              std::span<const std::uint8_t> info, std::span<std::uint8_t> out) {
    if (out.empty() || out.size() > hkdf_sha256_output_bytes_max || !fits_word32(ikm.size()) ||
        !fits_word32(salt.size()) || !fits_word32(info.size())) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    // Every argument wolfCrypt checks is checked above; what is left is an internal failure (an
    // allocation in a small-stack build), reported as invalid_argument rather than ignored.
    const int rc = wc_HKDF(WC_SHA256, pointer_or_null(ikm), static_cast<word32>(ikm.size()), pointer_or_null(salt),
                           static_cast<word32>(salt.size()), pointer_or_null(info), static_cast<word32>(info.size()),
                           out.data(), static_cast<word32>(out.size()));
    if (rc != 0) {
        secure_wipe(out);
        return fail(CryptoErrc::invalid_argument);
    }
    return {};
}

Result<SecretBytes> hkdf_sha256(std::span<const std::uint8_t> ikm, std::span<const std::uint8_t> salt,
                                std::string_view info, std::size_t length) {
    if (length == 0 || length > hkdf_sha256_output_bytes_max) return fail(CryptoErrc::invalid_argument);
    SecretBytes okm = SecretBytes::zeroed(length);
    const std::span<const std::uint8_t> info_bytes(reinterpret_cast<const std::uint8_t*>(info.data()), info.size());
    if (auto r = hkdf_sha256_into(ikm, salt, info_bytes, okm.mutable_view()); !r) return fail(r.error());
    return okm;
}

}  // namespace vmx::crypto
