// AES-256-GCM through ipsec-mb's direct GCM API. One process-wide IMB_MGR, built on first use by
// init_mb_mgr_auto and never freed. Sharing it between threads is safe because the direct API only
// reads function pointers from the manager: IMB_AES256_GCM_{PRE,ENC,DEC}(mgr, ...) expand to
// mgr->gcm256_{pre,enc,dec}(key_data, ctx, ...), which take no manager argument and keep all per-call
// state in the caller's gcm_context_data (intel-ipsec-mb.h 1.3, aes_gcm_enc_dec_t). Their only
// global side effect is ipsec-mb's process-wide imb_errno on invalid parameters, which we never read
// and never provoke. The job API, which IS stateful, is not used here (key_wrap.cc has its own).
#define NO_COMPAT_IMB_API_053  // keep ipsec-mb's pre-0.53 short macro names (GCM, ECB, ...) out
#include "crypto/aead.h"

#include <intel-ipsec-mb.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <new>

#include "core/assert.h"
#include "crypto/errc.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {
namespace {

static_assert(sizeof(gcm_key_data) <= 1024 && alignof(gcm_key_data) <= 64,
              "AesGcmKey::storage_bytes must hold ipsec-mb's gcm_key_data");
static_assert(IMB_VERSION_NUM >= IMB_VERSION(1, 3, 0), "built against ipsec-mb 1.3 or later");

struct GcmEngine {
    IMB_MGR* manager = nullptr;
    char name[64] = {};
};

const char* arch_name(IMB_ARCH arch) noexcept {
    switch (arch) {
        case IMB_ARCH_NOAESNI: return "noaesni";
        case IMB_ARCH_SSE: return "sse";
        case IMB_ARCH_AVX: return "avx";
        case IMB_ARCH_AVX2: return "avx2";
        case IMB_ARCH_AVX512: return "avx512";
        default: return "unknown";
    }
}

GcmEngine make_engine() noexcept {
    GcmEngine engine;
    engine.manager = alloc_mb_mgr(0);
    VMX_ASSERT(engine.manager != nullptr);
    IMB_ARCH arch = IMB_ARCH_NONE;
    init_mb_mgr_auto(engine.manager, &arch);
    VMX_ASSERT(arch != IMB_ARCH_NONE);
    // On the AVX-512 path ipsec-mb 1.3 switches GCM to its VAES/VPCLMULQDQ kernels when both exist.
    constexpr std::uint64_t vaes = IMB_FEATURE_VAES | IMB_FEATURE_VPCLMULQDQ;
    const bool with_vaes = arch == IMB_ARCH_AVX512 && (engine.manager->features & vaes) == vaes;
    if (std::snprintf(engine.name, sizeof engine.name, "ipsec-mb %s %s%s", imb_get_version_str(), arch_name(arch),
                      with_vaes ? "+vaes" : "") < 0)
        engine.name[0] = '\0';  // an encoding error leaves the buffer unspecified; a longer name is cut
    return engine;
}

const GcmEngine& engine() noexcept {
    static const GcmEngine instance = make_engine();  // thread-safe one-time initialisation
    return instance;
}

const gcm_key_data* key_data(const AesGcmKey& key) noexcept {
    return std::launder(static_cast<const gcm_key_data*>(key.expanded()));
}

// ipsec-mb (built with SAFE_PARAM) refuses null pointers even for empty inputs: point those at this.
const std::uint8_t empty_input = 0;
std::uint8_t empty_output = 0;

const std::uint8_t* in_ptr(std::span<const std::uint8_t> s) noexcept { return s.empty() ? &empty_input : s.data(); }
std::uint8_t* out_ptr(std::uint8_t* p, std::size_t bytes) noexcept { return bytes == 0 ? &empty_output : p; }

bool tag_size_ok(std::size_t bytes) noexcept { return bytes >= gcm_tag_bytes_min && bytes <= gcm_tag_bytes; }

}  // namespace

AesGcmKey::AesGcmKey(std::span<const std::uint8_t, gcm_key_bytes> key) noexcept {
    auto* data = new (storage_) gcm_key_data;  // trivial: begins its lifetime, writes nothing
    IMB_AES256_GCM_PRE(engine().manager, key.data(), data);
}

AesGcmKey::~AesGcmKey() { secure_wipe(storage_, sizeof storage_); }

AesGcmKey::AesGcmKey(AesGcmKey&& other) noexcept : valid_(other.valid_) {
    std::memcpy(storage_, other.storage_, sizeof storage_);
    secure_wipe(other.storage_, sizeof other.storage_);
    other.valid_ = false;
}

AesGcmKey& AesGcmKey::operator=(AesGcmKey&& other) noexcept {
    if (this != &other) {
        std::memcpy(storage_, other.storage_, sizeof storage_);
        valid_ = other.valid_;
        secure_wipe(other.storage_, sizeof other.storage_);
        other.valid_ = false;
    }
    return *this;
}

const void* AesGcmKey::expanded() const noexcept {
    VMX_ASSERT(valid_);
    return storage_;
}

void gcm_seal(const AesGcmKey& key, std::span<const std::uint8_t, gcm_iv_bytes> iv, std::span<const std::uint8_t> aad,
              std::span<const std::uint8_t> plaintext, std::uint8_t* ciphertext_out, std::span<std::uint8_t> tag_out) {
    VMX_ASSERT(tag_size_ok(tag_out.size()));
    VMX_ASSERT(plaintext.size() <= gcm_plaintext_bytes_max);
    VMX_ASSERT(ciphertext_out != nullptr || plaintext.empty());
    // The full tag is computed and truncated here (SP 800-38D: a t-bit tag is the leftmost t bits).
    std::array<std::uint8_t, gcm_tag_bytes> tag{};
    gcm_context_data context;
    IMB_AES256_GCM_ENC(engine().manager, key_data(key), &context, out_ptr(ciphertext_out, plaintext.size()),
                       in_ptr(plaintext), plaintext.size(), iv.data(), in_ptr(aad), aad.size(), tag.data(),
                       tag.size());
    std::memcpy(tag_out.data(), tag.data(), tag_out.size());
    secure_wipe(&context, sizeof context);  // holds keystream of the last partial block
}

void gcm_seal_two(const AesGcmKey& key, std::span<const std::uint8_t, gcm_iv_bytes> iv,
                  std::span<const std::uint8_t> aad, std::span<const std::uint8_t> first,
                  std::span<const std::uint8_t> second, std::uint8_t* ciphertext_out, std::span<std::uint8_t> tag_out) {
    VMX_ASSERT(tag_size_ok(tag_out.size()));
    VMX_ASSERT(first.size() + second.size() <= gcm_plaintext_bytes_max);
    VMX_ASSERT(ciphertext_out != nullptr || (first.empty() && second.empty()));
    if (first.empty() || second.empty())  // one part: the one-shot call is a little faster
        return gcm_seal(key, iv, aad, first.empty() ? second : first, ciphertext_out, tag_out);
    std::array<std::uint8_t, gcm_tag_bytes> tag{};
    gcm_context_data context;
    const gcm_key_data* k = key_data(key);
    IMB_AES256_GCM_INIT(engine().manager, k, &context, iv.data(), in_ptr(aad), aad.size());
    if (!first.empty()) IMB_AES256_GCM_ENC_UPDATE(engine().manager, k, &context, ciphertext_out, first.data(), first.size());
    if (!second.empty())
        IMB_AES256_GCM_ENC_UPDATE(engine().manager, k, &context, ciphertext_out + first.size(), second.data(),
                                  second.size());
    IMB_AES256_GCM_ENC_FINALIZE(engine().manager, k, &context, tag.data(), tag.size());
    std::memcpy(tag_out.data(), tag.data(), tag_out.size());
    secure_wipe(&context, sizeof context);
}

Result<void> gcm_open(const AesGcmKey& key, std::span<const std::uint8_t, gcm_iv_bytes> iv,
                      std::span<const std::uint8_t> aad, std::span<const std::uint8_t> ciphertext,
                      std::uint8_t* plaintext_out, std::span<const std::uint8_t> tag) {
    VMX_ASSERT(plaintext_out != nullptr || ciphertext.empty());
    if (!tag_size_ok(tag.size()) || ciphertext.size() > gcm_plaintext_bytes_max) {
        if (!ciphertext.empty()) std::memset(plaintext_out, 0, ciphertext.size());
        return fail(CryptoErrc::invalid_argument);
    }
    // Start from the complement of the tag we were given, so that a computed tag the library failed
    // to write can never compare equal.
    std::array<std::uint8_t, gcm_tag_bytes> computed{};
    for (std::size_t i = 0; i < tag.size(); ++i) computed[i] = static_cast<std::uint8_t>(~tag[i]);
    gcm_context_data context;
    IMB_AES256_GCM_DEC(engine().manager, key_data(key), &context, out_ptr(plaintext_out, ciphertext.size()),
                       in_ptr(ciphertext), ciphertext.size(), iv.data(), in_ptr(aad), aad.size(), computed.data(),
                       computed.size());
    secure_wipe(&context, sizeof context);
    const bool authentic = constant_time_equal(std::span<const std::uint8_t>(computed).first(tag.size()), tag);
    if (!authentic) {
        if (!ciphertext.empty()) secure_wipe(plaintext_out, ciphertext.size());
        return fail(CryptoErrc::authentication_failed);
    }
    return {};
}

const char* aead_implementation() noexcept { return engine().name; }

}  // namespace vmx::crypto
