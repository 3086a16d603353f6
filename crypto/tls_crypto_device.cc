// The wolfSSL crypto-callback device over crypto/aead.h. wolfSSL calls device_callback on the
// thread that seals or opens the record; the only state is the process-wide counters (relaxed
// atomics) and a per-thread cache of expanded keys, so no lock is taken on the record path.
// Invariant: a cache entry is used only when its raw key bytes equal the record's key, so a freed and
// reused wolfSSL Aes with another key can never meet a stale expanded key.
#include "crypto/tls_crypto_device.h"

// options.h first: it fixes the build configuration (and struct layouts) the other headers follow.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "crypto/aead.h"
#include "crypto/errc.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {
namespace {

// Any value but INVALID_DEVID (-2); 0 is avoided because an uninitialised device table holds zeros.
constexpr int device_id = 0x766d78;  // "vmx"

struct Counters {
    std::atomic<std::uint64_t> gcm_encrypts{0};
    std::atomic<std::uint64_t> gcm_decrypts{0};
    std::atomic<std::uint64_t> auth_failures{0};
    std::atomic<std::uint64_t> fallbacks{0};
};
constinit Counters counters;

void count(std::atomic<std::uint64_t>& counter) noexcept { counter.fetch_add(1, std::memory_order_relaxed); }

static_assert(sizeof(Aes::devKey) >= gcm_key_bytes, "wolfSSL's Aes must keep the whole raw key");

// wolfSSL copies the raw key into aes->devKey whenever the Aes has a device id (wc_AesSetKey).
std::span<const std::uint8_t, gcm_key_bytes> raw_key_of(const Aes& aes) noexcept {
    return std::span<const std::uint8_t, gcm_key_bytes>(reinterpret_cast<const std::uint8_t*>(aes.devKey),
                                                        gcm_key_bytes);
}

bool same_key(std::span<const std::uint8_t, gcm_key_bytes> a, std::span<const std::uint8_t, gcm_key_bytes> b) noexcept {
    std::uint8_t diff = 0;  // no early exit: the time taken says nothing about where keys differ
    for (std::size_t i = 0; i < gcm_key_bytes; ++i) diff = static_cast<std::uint8_t>(diff | (a[i] ^ b[i]));
    return diff == 0;
}

// Expanding an AES-256-GCM key (round keys and GHASH tables) costs about as much as sealing a few
// hundred bytes; a TLS connection keeps one key per direction for many records, so each thread keeps
// the last few. Direct-mapped on the Aes address; a collision just expands again. Entries outlive
// their connection until replaced or the thread ends (wolfSSL 5.5 has no "key freed" callback).
class KeyCache {
public:
    KeyCache() = default;
    KeyCache(const KeyCache&) = delete;
    KeyCache& operator=(const KeyCache&) = delete;
    ~KeyCache() {
        for (Entry& e : entries_) secure_wipe(e.raw_key);  // each AesGcmKey wipes itself
    }

    const AesGcmKey& expanded(const Aes& aes) noexcept {
        const auto raw = raw_key_of(aes);
        Entry& e = entries_[slot_of(&aes)];
        if (e.owner != &aes || !e.key || !same_key(e.raw_key, raw)) {
            e.key.emplace(raw);  // the replaced AesGcmKey is wiped by its destructor
            std::memcpy(e.raw_key.data(), raw.data(), gcm_key_bytes);
            e.owner = &aes;
        }
        return *e.key;
    }

private:
    static constexpr std::size_t entries_max = 16;  // power of two
    static std::size_t slot_of(const Aes* aes) noexcept {
        const auto address = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(aes));
        return static_cast<std::size_t>((address * 0x9E3779B97F4A7C15ull) >> 60);  // top 4 bits
    }
    struct Entry {
        const Aes* owner = nullptr;
        std::array<std::uint8_t, gcm_key_bytes> raw_key{};
        std::optional<AesGcmKey> key;
    };
    static_assert(entries_max == 16, "slot_of keeps the top 4 bits");
    std::array<Entry, entries_max> entries_{};
};

const AesGcmKey& expanded_key(const Aes& aes) noexcept {
    thread_local KeyCache cache;
    return cache.expanded(aes);
}

// What ipsec-mb can take: a 256-bit key, a 96-bit IV, a 12..16-byte tag, and output either on the
// input (TLS works in place) or apart from it. Anything else goes back to wolfSSL's software path.
bool servable(const Aes* aes, const std::uint8_t* in, const std::uint8_t* out, word32 bytes, const std::uint8_t* iv,
              word32 iv_bytes, const void* tag, word32 tag_bytes, const std::uint8_t* aad, word32 aad_bytes) noexcept {
    if (aes == nullptr || aes->keylen != static_cast<int>(gcm_key_bytes)) return false;
    if (iv == nullptr || iv_bytes != gcm_iv_bytes) return false;
    if (tag == nullptr || tag_bytes < gcm_tag_bytes_min || tag_bytes > gcm_tag_bytes) return false;
    if (aad_bytes > 0 && aad == nullptr) return false;
    if (bytes == 0) return true;
    if (in == nullptr || out == nullptr) return false;
    const auto in_at = reinterpret_cast<std::uintptr_t>(in);
    const auto out_at = reinterpret_cast<std::uintptr_t>(out);
    return in_at == out_at || out_at + bytes <= in_at || in_at + bytes <= out_at;
}

int seal_record(const wc_CryptoInfo& info) noexcept {
    const auto& op = info.cipher.aesgcm_enc;
    if (!servable(op.aes, op.in, op.out, op.sz, op.iv, op.ivSz, op.authTag, op.authTagSz, op.authIn, op.authInSz)) {
        count(counters.fallbacks);
        return CRYPTOCB_UNAVAILABLE;
    }
    gcm_seal(expanded_key(*op.aes), std::span<const std::uint8_t, gcm_iv_bytes>(op.iv, gcm_iv_bytes),
             {op.authIn, op.authInSz}, {op.in, op.sz}, op.out, {op.authTag, op.authTagSz});
    count(counters.gcm_encrypts);
    return 0;
}

int open_record(const wc_CryptoInfo& info) noexcept {
    const auto& op = info.cipher.aesgcm_dec;
    if (!servable(op.aes, op.in, op.out, op.sz, op.iv, op.ivSz, op.authTag, op.authTagSz, op.authIn, op.authInSz)) {
        count(counters.fallbacks);
        return CRYPTOCB_UNAVAILABLE;
    }
    const auto opened = gcm_open(expanded_key(*op.aes), std::span<const std::uint8_t, gcm_iv_bytes>(op.iv, gcm_iv_bytes),
                                 {op.authIn, op.authInSz}, {op.in, op.sz}, op.out, {op.authTag, op.authTagSz});
    if (opened) {
        count(counters.gcm_decrypts);
        return 0;
    }
    if (opened.error() == CryptoErrc::authentication_failed) {
        count(counters.auth_failures);
        return AES_GCM_AUTH_E;  // what wolfSSL's software path returns: TLS sends bad_record_mac
    }
    return BAD_FUNC_ARG;  // servable() admits nothing gcm_open refuses; kept for safety
}

// Called by wolfCrypt for every operation on an object carrying our device id.
int device_callback(int /*dev_id*/, wc_CryptoInfo* info, void* /*ctx*/) noexcept {
    if (info == nullptr || info->algo_type != WC_ALGO_TYPE_CIPHER || info->cipher.type != WC_CIPHER_AES_GCM) {
        return CRYPTOCB_UNAVAILABLE;  // RSA, ECC, hashes, RNG, other ciphers: wolfSSL's software
    }
    return info->cipher.enc ? seal_record(*info) : open_record(*info);
}

int register_device() noexcept {
    // wolfCrypt's first initialisation clears the device table, so it must come before we register;
    // the reference taken here is never released, so an application's wolfSSL_Cleanup cannot take
    // the count back to zero and clear the table under live TLS sessions.
    if (wolfCrypt_Init() != 0) return INVALID_DEVID;
    if (wc_CryptoCb_RegisterDevice(device_id, device_callback, nullptr) != 0) return INVALID_DEVID;
    return device_id;
}

}  // namespace

Result<int> tls_crypto_device() {
    static const int registered_id = register_device();  // thread-safe, once per process
    if (registered_id == INVALID_DEVID) return fail(CryptoErrc::tls_setup_failed);
    return registered_id;
}

Result<void> use_tls_crypto_device(WOLFSSL_CTX* ctx) {
    VMX_ASSERT(ctx != nullptr);
    const auto id = tls_crypto_device();
    if (!id) return fail(id.error());
    if (wolfSSL_CTX_SetDevId(ctx, *id) != WOLFSSL_SUCCESS) return fail(CryptoErrc::tls_setup_failed);
    return {};
}

TlsDeviceCounters tls_device_counters() noexcept {
    return {
        .gcm_encrypts = counters.gcm_encrypts.load(std::memory_order_relaxed),
        .gcm_decrypts = counters.gcm_decrypts.load(std::memory_order_relaxed),
        .auth_failures = counters.auth_failures.load(std::memory_order_relaxed),
        .fallbacks = counters.fallbacks.load(std::memory_order_relaxed),
    };
}

}  // namespace vmx::crypto
