// AES-256-GCM seal and open on one thread at 1 KiB, 16 KiB (a full TLS record), 64 KiB and 1 MiB:
// our ipsec-mb path (crypto/aead.h), wolfSSL's software AES-GCM (Debian builds it without AES-NI),
// wolfSSL's API through our crypto-callback device (what TLS records pay), and OpenSSL's EVP
// (openssl_gcm.cc, its own translation unit). Keys are expanded once, outside the timed loop, except
// in *_with_key_setup, which shows what the device's per-thread key cache saves per record.
// BM_Argon2id*: one password hash and one verify (a login) at the default Argon2Params.
// seal_record / open_record: crypto::seal / open (sealed_record.h: fresh DEK and IV, HKDF KEK, key
// wrap, GCM key expansion, then GCM) against seal_ipsec_mb at the same size (issue 4: sealing at 90%
// or more of raw GCM at 16 KiB); record_* break the per-record fixed cost into its parts.
#include <wolfssl/options.h>  // first: it fixes the layout of the other wolfSSL headers
#include <wolfssl/wolfcrypt/aes.h>

#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "benchmarks/openssl_gcm.h"
#include "crypto/aead.h"
#include "crypto/hkdf.h"
#include "crypto/key_wrap.h"
#include "crypto/password.h"
#include "crypto/random.h"
#include "crypto/sealed_record.h"
#include "crypto/sealed_stream.h"
#include "crypto/tls_crypto_device.h"

namespace {

namespace crypto = vmx::crypto;

constexpr std::size_t aad_bytes = 13;  // a TLS 1.2 record's additional data

// Inputs of one size; the ciphertext and tag are filled by seal() so that open() has something valid.
struct Buffers {
    explicit Buffers(std::size_t bytes) : text(bytes), out(bytes) {
        for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
        for (std::size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<std::uint8_t>(i * 3 + 2);
        for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<std::uint8_t>(i * 31);
    }
    std::array<std::uint8_t, crypto::gcm_key_bytes> key{};
    std::array<std::uint8_t, crypto::gcm_iv_bytes> iv{};
    std::array<std::uint8_t, aad_bytes> aad{};
    std::array<std::uint8_t, crypto::gcm_tag_bytes> tag{};
    std::vector<std::uint8_t> text;
    std::vector<std::uint8_t> out;
};

void finish(benchmark::State& state, std::size_t bytes) {
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
}

// --- ipsec-mb through crypto/aead.h ------------------------------------------------------------

void seal_ipsec_mb(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    const crypto::AesGcmKey key(b.key);
    for (auto _ : state) {
        crypto::gcm_seal(key, b.iv, b.aad, b.text, b.out.data(), b.tag);
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    finish(state, b.text.size());
}

void open_ipsec_mb(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    const crypto::AesGcmKey key(b.key);
    std::vector<std::uint8_t> sealed(b.text.size());
    crypto::gcm_seal(key, b.iv, b.aad, b.text, sealed.data(), b.tag);
    for (auto _ : state) {
        if (!crypto::gcm_open(key, b.iv, b.aad, sealed, b.out.data(), b.tag)) state.SkipWithError("tag mismatch");
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    finish(state, b.text.size());
}

// The key expanded for every call: what each TLS record would cost without the device's key cache.
void seal_ipsec_mb_with_key_setup(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        const crypto::AesGcmKey key(b.key);
        crypto::gcm_seal(key, b.iv, b.aad, b.text, b.out.data(), b.tag);
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    finish(state, b.text.size());
}

// --- wolfSSL's wc_AesGcm* API: software (INVALID_DEVID) or through our device ------------------

enum class WolfPath { software, device };

int dev_id_of(WolfPath path) {
    if (path == WolfPath::software) return INVALID_DEVID;
    const auto id = crypto::tls_crypto_device();
    return id ? *id : INVALID_DEVID;
}

void seal_wolfssl(benchmark::State& state, WolfPath path) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    Aes aes;
    if (wc_AesInit(&aes, nullptr, dev_id_of(path)) != 0 || wc_AesGcmSetKey(&aes, b.key.data(), 32) != 0) {
        state.SkipWithError("wolfSSL key setup failed");
        return;
    }
    const auto bytes = static_cast<word32>(b.text.size());
    for (auto _ : state) {
        if (wc_AesGcmEncrypt(&aes, b.out.data(), b.text.data(), bytes, b.iv.data(), 12, b.tag.data(), 16, b.aad.data(),
                             aad_bytes) != 0) {
            state.SkipWithError("wc_AesGcmEncrypt failed");
        }
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    wc_AesFree(&aes);
    finish(state, b.text.size());
}

void open_wolfssl(benchmark::State& state, WolfPath path) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    Aes aes;
    if (wc_AesInit(&aes, nullptr, dev_id_of(path)) != 0 || wc_AesGcmSetKey(&aes, b.key.data(), 32) != 0) {
        state.SkipWithError("wolfSSL key setup failed");
        return;
    }
    const auto bytes = static_cast<word32>(b.text.size());
    std::vector<std::uint8_t> sealed(b.text.size());
    wc_AesGcmEncrypt(&aes, sealed.data(), b.text.data(), bytes, b.iv.data(), 12, b.tag.data(), 16, b.aad.data(),
                     aad_bytes);
    for (auto _ : state) {
        if (wc_AesGcmDecrypt(&aes, b.out.data(), sealed.data(), bytes, b.iv.data(), 12, b.tag.data(), 16, b.aad.data(),
                             aad_bytes) != 0) {
            state.SkipWithError("wc_AesGcmDecrypt failed");
        }
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    wc_AesFree(&aes);
    finish(state, b.text.size());
}

void seal_wolfssl_software(benchmark::State& state) { seal_wolfssl(state, WolfPath::software); }
void open_wolfssl_software(benchmark::State& state) { open_wolfssl(state, WolfPath::software); }
void seal_wolfssl_device(benchmark::State& state) { seal_wolfssl(state, WolfPath::device); }
void open_wolfssl_device(benchmark::State& state) { open_wolfssl(state, WolfPath::device); }

// --- OpenSSL EVP ----------------------------------------------------------------------------------

void seal_openssl(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    vmx::bench::OpensslGcm* gcm = vmx::bench::openssl_gcm_new(b.key.data());
    if (gcm == nullptr) {
        state.SkipWithError("OpenSSL key setup failed");
        return;
    }
    for (auto _ : state) {
        if (!vmx::bench::openssl_gcm_seal(gcm, b.iv.data(), b.aad.data(), aad_bytes, b.text.data(), b.text.size(),
                                          b.out.data(), b.tag.data())) {
            state.SkipWithError("OpenSSL seal failed");
        }
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    vmx::bench::openssl_gcm_free(gcm);
    finish(state, b.text.size());
}

void open_openssl(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    vmx::bench::OpensslGcm* gcm = vmx::bench::openssl_gcm_new(b.key.data());
    if (gcm == nullptr) {
        state.SkipWithError("OpenSSL key setup failed");
        return;
    }
    std::vector<std::uint8_t> sealed(b.text.size());
    vmx::bench::openssl_gcm_seal(gcm, b.iv.data(), b.aad.data(), aad_bytes, b.text.data(), b.text.size(),
                                 sealed.data(), b.tag.data());
    for (auto _ : state) {
        if (!vmx::bench::openssl_gcm_open(gcm, b.iv.data(), b.aad.data(), aad_bytes, sealed.data(), sealed.size(),
                                          b.out.data(), b.tag.data())) {
            state.SkipWithError("OpenSSL open failed");
        }
        benchmark::DoNotOptimize(b.out.data());
        benchmark::ClobberMemory();
    }
    vmx::bench::openssl_gcm_free(gcm);
    finish(state, b.text.size());
}

// --- Sealed records (crypto/sealed_record.h) and their per-record fixed costs --------------------

crypto::RecordIdentity bench_identity() {
    return crypto::RecordIdentity{crypto::StoreKind::mail, 3, 1001, 42, crypto::KeyRef{7, 1}};
}

void seal_record(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    const crypto::RecordIdentity identity = bench_identity();
    for (auto _ : state) {
        auto record = crypto::seal(b.key, identity, b.text);
        if (!record) state.SkipWithError("seal failed");
        benchmark::DoNotOptimize(record->data());
        benchmark::ClobberMemory();
    }
    finish(state, b.text.size());
}

void open_record(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    const crypto::RecordIdentity identity = bench_identity();
    const auto record = crypto::seal(b.key, identity, b.text);
    if (!record) {
        state.SkipWithError("seal failed");
        return;
    }
    for (auto _ : state) {
        auto plaintext = crypto::open(b.key, identity, *record);
        if (!plaintext) state.SkipWithError("open failed");
        benchmark::DoNotOptimize(plaintext->data());
        benchmark::ClobberMemory();
    }
    finish(state, b.text.size());
}

// Raw GCM into a freshly allocated output, as seal() must return a new vector: the allocation and
// page faults of the output are part of what a record costs, not of the cipher.
void seal_ipsec_mb_new_output(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    const crypto::AesGcmKey key(b.key);
    for (auto _ : state) {
        std::vector<std::uint8_t> out(b.text.size() + crypto::sealed_overhead_bytes);
        crypto::gcm_seal(key, b.iv, b.aad, b.text, out.data() + crypto::sealed_header_bytes,
                         std::span<std::uint8_t>(out).last(crypto::gcm_tag_bytes));
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    finish(state, b.text.size());
}

// Format v2: a continuation chunk of a stream (no key work at all: what each 64 KiB of a body costs
// beyond the first), and the fixed cost per stream (DEK, wrap, GCM key set-up: begin + an empty
// head) and per opened stream.
void seal_stream_chunk(benchmark::State& state) {
    Buffers b(static_cast<std::size_t>(state.range(0)));
    auto sealer = crypto::StreamSealer::begin(b.key, bench_identity());
    if (!sealer || !sealer->seal({}, false)) state.SkipWithError("stream failed");
    for (auto _ : state) {
        auto record = sealer->seal(b.text, false);
        if (!record) state.SkipWithError("seal failed");
        benchmark::DoNotOptimize(record->data());
        benchmark::ClobberMemory();
    }
    finish(state, b.text.size());
}

void stream_fixed_cost_seal(benchmark::State& state) {
    Buffers b(0);
    for (auto _ : state) {
        auto sealer = crypto::StreamSealer::begin(b.key, bench_identity());
        if (!sealer) state.SkipWithError("begin failed");
        auto head = sealer->seal({}, true);
        benchmark::DoNotOptimize(head->data());
    }
}

void stream_fixed_cost_open(benchmark::State& state) {
    Buffers b(0);
    auto head = crypto::seal(b.key, bench_identity(), {});
    for (auto _ : state) {
        auto opener = crypto::StreamOpener::begin(b.key, bench_identity(), *head);
        if (!opener) state.SkipWithError("begin failed");
        auto plain = opener->open(*head);
        benchmark::DoNotOptimize(plain->data());
    }
}

void record_random_dek_iv(benchmark::State& state) {
    std::array<std::uint8_t, crypto::gcm_key_bytes + crypto::gcm_iv_bytes> fresh{};
    for (auto _ : state) {
        if (!crypto::random_bytes(fresh)) state.SkipWithError("random_bytes failed");
        benchmark::DoNotOptimize(fresh.data());
    }
}

void record_hkdf_kek(benchmark::State& state) {
    Buffers b(0);
    std::array<std::uint8_t, 28 + 25 + 12> info{};  // label || AAD || key reference, as sealed_record.cc
    std::array<std::uint8_t, crypto::key_wrap_kek_bytes> kek{};
    for (auto _ : state) {
        info[40] = static_cast<std::uint8_t>(info[40] + 1);  // another record id each time
        if (!crypto::hkdf_sha256_into(b.key, {}, info, kek)) state.SkipWithError("hkdf failed");
        benchmark::DoNotOptimize(kek.data());
    }
}

// The same KEK with HKDF-Extract's PRK cached per thread (what sealed_record.cc uses).
void record_hkdf_kek_cached_prk(benchmark::State& state) {
    Buffers b(0);
    std::array<std::uint8_t, 28 + 25 + 12> info{};
    std::array<std::uint8_t, crypto::key_wrap_kek_bytes> kek{};
    for (auto _ : state) {
        info[40] = static_cast<std::uint8_t>(info[40] + 1);
        if (!crypto::hkdf_sha256_cached_into(b.key, info, kek)) state.SkipWithError("hkdf failed");
        benchmark::DoNotOptimize(kek.data());
    }
}

void record_key_wrap(benchmark::State& state) {
    Buffers b(0);
    std::array<std::uint8_t, 32 + crypto::key_wrap_overhead_bytes> wrapped{};
    for (auto _ : state) {
        if (!crypto::key_wrap(b.key, b.key, wrapped)) state.SkipWithError("key_wrap failed");
        benchmark::DoNotOptimize(wrapped.data());
    }
}

void record_key_unwrap(benchmark::State& state) {
    Buffers b(0);
    std::array<std::uint8_t, 32 + crypto::key_wrap_overhead_bytes> wrapped{};
    std::array<std::uint8_t, 32> dek{};
    if (!crypto::key_wrap(b.key, b.key, wrapped)) state.SkipWithError("key_wrap failed");
    for (auto _ : state) {
        if (!crypto::key_unwrap(b.key, wrapped, dek)) state.SkipWithError("key_unwrap failed");
        benchmark::DoNotOptimize(dek.data());
    }
}

void record_gcm_key_expand(benchmark::State& state) {
    Buffers b(0);
    for (auto _ : state) {
        const crypto::AesGcmKey key(b.key);
        benchmark::DoNotOptimize(key.expanded());
    }
}

// --- Argon2id (crypto/password.h) at the default parameters: what a login costs -----------------

constexpr std::string_view bench_password = "correct horse battery staple";

std::string params_label(const crypto::Argon2Params& p) {
    return "m=" + std::to_string(p.memory_kib) + "KiB t=" + std::to_string(p.iterations) +
           " p=" + std::to_string(p.parallelism);
}

void BM_Argon2idHash(benchmark::State& state) {
    const crypto::Argon2Params params;
    for (auto _ : state) {
        auto encoded = crypto::hash_password(bench_password, params);
        if (!encoded) {
            state.SkipWithError("hash_password failed");
            break;
        }
        benchmark::DoNotOptimize(encoded->data());
    }
    state.SetLabel(params_label(params));
}

// The stored hash is made once, outside the timed loop; each iteration is one login's check.
void BM_Argon2idVerify(benchmark::State& state) {
    const crypto::Argon2Params params;
    const auto encoded = crypto::hash_password(bench_password, params);
    if (!encoded) {
        state.SkipWithError("hash_password failed");
        return;
    }
    for (auto _ : state) {
        if (crypto::verify_password(bench_password, *encoded) != crypto::PasswordCheck::match) {
            state.SkipWithError("verify_password did not match");
            break;
        }
    }
    state.SetLabel(params_label(params));
}

void sizes(benchmark::internal::Benchmark* b) {
    for (const std::int64_t bytes : {1 << 10, 16 << 10, 64 << 10, 1 << 20}) b->Arg(bytes);
}

BENCHMARK(seal_ipsec_mb)->Apply(sizes);
BENCHMARK(seal_wolfssl_device)->Apply(sizes);
BENCHMARK(seal_wolfssl_software)->Apply(sizes);
BENCHMARK(seal_openssl)->Apply(sizes);
BENCHMARK(open_ipsec_mb)->Apply(sizes);
BENCHMARK(open_wolfssl_device)->Apply(sizes);
BENCHMARK(open_wolfssl_software)->Apply(sizes);
BENCHMARK(open_openssl)->Apply(sizes);
BENCHMARK(seal_ipsec_mb_with_key_setup)->Arg(1 << 10)->Arg(16 << 10);
BENCHMARK(seal_ipsec_mb_new_output)->Arg(1 << 10)->Arg(16 << 10)->Arg(64 << 10);
BENCHMARK(seal_record)->Arg(0)->Arg(1 << 10)->Arg(16 << 10)->Arg(64 << 10);
BENCHMARK(open_record)->Arg(0)->Arg(1 << 10)->Arg(16 << 10)->Arg(64 << 10);
BENCHMARK(seal_stream_chunk)->Arg(16 << 10)->Arg(64 << 10);
BENCHMARK(stream_fixed_cost_seal);
BENCHMARK(stream_fixed_cost_open);
BENCHMARK(record_random_dek_iv);
BENCHMARK(record_hkdf_kek);
BENCHMARK(record_hkdf_kek_cached_prk);
BENCHMARK(record_key_wrap);
BENCHMARK(record_key_unwrap);
BENCHMARK(record_gcm_key_expand);
// About 0.3 s each on a 2.1 GHz core: five iterations keep the pair under about 4 s.
BENCHMARK(BM_Argon2idHash)->Unit(benchmark::kMillisecond)->Iterations(5);
BENCHMARK(BM_Argon2idVerify)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::AddCustomContext("aead", vmx::crypto::aead_implementation());
    benchmark::AddCustomContext("openssl", vmx::bench::openssl_version_text());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
