// In-memory TLS 1.3 AES-256-GCM bulk throughput with wolfSSL's software AES-GCM and with our
// crypto-callback device (crypto/tls_crypto_device.h), in one run. Client and server share one
// thread and talk through two std::string pipes (no sockets), so each byte is sealed once and opened
// once on this core: the figure is per-core TLS record throughput, handshake excluded.
// Usage: tls_bench [--mib N] [--write-bytes B] [--json FILE]   (default: 256 MiB client->server in
// 16 KiB writes; --json also writes the printed figures to FILE as one JSON object)
#include <wolfssl/options.h>  // first: it fixes the layout of the other wolfSSL headers
#include <wolfssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <time.h>
#include <vector>

#include <fmt/format.h>

#include "appliance/common/json_text.h"  // header-only; the benchmarks sit above every layer
#include "core/c_free.h"
#include "crypto/aead.h"
#include "crypto/tls_crypto_device.h"

#ifndef VMX_TEST_DATA_DIR
#error "VMX_TEST_DATA_DIR must name tests/data (see benchmarks/crypto.cmake)"
#endif

namespace {

using vmx::CFree;

constexpr std::size_t record_bytes_max = std::size_t{16} * 1024;  // TLS's largest record plaintext
constexpr const char* cipher = "TLS13-AES256-GCM-SHA384";

using SslCtxPtr = std::unique_ptr<WOLFSSL_CTX, CFree<wolfSSL_CTX_free>>;
using SslPtr = std::unique_ptr<WOLFSSL, CFree<wolfSSL_free>>;

// One direction of the connection: unread bytes are wire[read_at..].
struct Pipe {
    std::string wire;
    std::size_t read_at = 0;
};

int pipe_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
    auto& pipe = *static_cast<Pipe*>(ctx);
    const std::size_t unread = pipe.wire.size() - pipe.read_at;
    if (unread == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
    const std::size_t n = std::min(unread, static_cast<std::size_t>(sz));
    std::memcpy(buf, pipe.wire.data() + pipe.read_at, n);
    pipe.read_at += n;
    if (pipe.read_at == pipe.wire.size()) {
        pipe.wire.clear();
        pipe.read_at = 0;
    }
    return static_cast<int>(n);
}

int pipe_send(WOLFSSL*, char* buf, int sz, void* ctx) {
    static_cast<Pipe*>(ctx)->wire.append(buf, static_cast<std::size_t>(sz));
    return sz;
}

bool would_block(WOLFSSL* ssl, int ret) {
    const int err = wolfSSL_get_error(ssl, ret);
    return err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE;
}

enum class Device { software, ours };
enum class Side { client, server };

SslCtxPtr make_ctx(Side side, Device device) {
    SslCtxPtr ctx(wolfSSL_CTX_new(side == Side::client ? wolfTLSv1_3_client_method() : wolfTLSv1_3_server_method()));
    if (!ctx) return nullptr;
    const std::string dir = VMX_TEST_DATA_DIR "/tls/";
    if (side == Side::server) {
        if (wolfSSL_CTX_use_certificate_file(ctx.get(), (dir + "test-cert.pem").c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
            wolfSSL_CTX_use_PrivateKey_file(ctx.get(), (dir + "test-key.pem").c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
            return nullptr;
        }
    } else if (wolfSSL_CTX_load_verify_locations(ctx.get(), (dir + "test-cert.pem").c_str(), nullptr) != WOLFSSL_SUCCESS) {
        return nullptr;
    }
    if (wolfSSL_CTX_set_cipher_list(ctx.get(), cipher) != WOLFSSL_SUCCESS) return nullptr;
    if (device == Device::ours && !vmx::crypto::use_tls_crypto_device(ctx.get())) return nullptr;
    return ctx;
}

// A connected client/server pair. Heap-allocated and never moved: the WOLFSSLs point at the pipes.
struct Session {
    Pipe to_server;
    Pipe to_client;
    SslCtxPtr client_ctx;
    SslCtxPtr server_ctx;
    SslPtr client;
    SslPtr server;
};

SslPtr make_ssl(WOLFSSL_CTX* ctx, Pipe& in, Pipe& out) {
    SslPtr ssl(wolfSSL_new(ctx));
    if (!ssl) return ssl;
    wolfSSL_SSLSetIORecv(ssl.get(), pipe_recv);
    wolfSSL_SSLSetIOSend(ssl.get(), pipe_send);
    wolfSSL_SetIOReadCtx(ssl.get(), &in);
    wolfSSL_SetIOWriteCtx(ssl.get(), &out);
    return ssl;
}

// Handshake step: true once done; `failed` set on an error other than waiting for the peer.
bool step(WOLFSSL* ssl, int ret, bool& failed) {
    if (ret == WOLFSSL_SUCCESS) return true;
    if (!would_block(ssl, ret)) failed = true;
    return false;
}

std::unique_ptr<Session> connect(Device device) {
    auto s = std::make_unique<Session>();
    s->client_ctx = make_ctx(Side::client, device);
    s->server_ctx = make_ctx(Side::server, device);
    if (!s->client_ctx || !s->server_ctx) return nullptr;
    s->client = make_ssl(s->client_ctx.get(), s->to_client, s->to_server);
    s->server = make_ssl(s->server_ctx.get(), s->to_server, s->to_client);
    if (!s->client || !s->server) return nullptr;
    bool client_done = false;
    bool server_done = false;
    bool failed = false;
    for (int round = 0; round < 64 && !failed && !(client_done && server_done); ++round) {
        if (!client_done) client_done = step(s->client.get(), wolfSSL_connect(s->client.get()), failed);
        if (!server_done) server_done = step(s->server.get(), wolfSSL_accept(s->server.get()), failed);
    }
    if (!client_done || !server_done) return nullptr;
    return s;
}

// Sends `bytes` client->server in writes of `write_bytes`, reading each record at the server as it
// arrives.
// MB/s (10^6 bytes per second) of this thread's CPU time and of wall-clock time; negative if
// anything failed. On a shared machine the CPU figure is the per-core one; on a quiet one they agree.
struct Rate {
    double cpu_mb_per_s = -1;
    double wall_mb_per_s = -1;
};

double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Rate transfer(Session& s, std::size_t bytes, std::size_t write_bytes) {
    std::vector<char> chunk(write_bytes);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131 + 7);
    std::vector<char> sink(record_bytes_max);
    std::size_t sent = 0;
    std::size_t received = 0;
    bool first_checked = false;
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = thread_cpu_s();
    while (sent < bytes) {
        const int n = wolfSSL_write(s.client.get(), chunk.data(), static_cast<int>(chunk.size()));
        if (n <= 0) return {};
        sent += static_cast<std::size_t>(n);
        for (;;) {
            const int r = wolfSSL_read(s.server.get(), sink.data(), static_cast<int>(sink.size()));
            if (r > 0) {
                if (!first_checked) {  // one record compared: cheap proof the bytes survive
                    if (static_cast<std::size_t>(r) != chunk.size() || std::memcmp(sink.data(), chunk.data(), chunk.size()) != 0) return {};
                    first_checked = true;
                }
                received += static_cast<std::size_t>(r);
                continue;
            }
            if (would_block(s.server.get(), r)) break;
            return {};
        }
    }
    const std::chrono::duration<double> wall_s = std::chrono::steady_clock::now() - start;
    const double cpu_s = thread_cpu_s() - cpu_start;
    if (received != sent) return {};
    return {static_cast<double>(received) / cpu_s / 1e6, static_cast<double>(received) / wall_s.count() / 1e6};
}

// Best of `runs` fresh sessions (the handshake is outside the timing); any failure fails all.
Rate best_of(Device device, std::size_t bytes, std::size_t write_bytes, int runs) {
    Rate best;
    for (int i = 0; i < runs; ++i) {
        const auto session = connect(device);
        if (!session) return {};
        const Rate r = transfer(*session, bytes, write_bytes);
        if (r.cpu_mb_per_s < 0) return {};
        best.cpu_mb_per_s = std::max(best.cpu_mb_per_s, r.cpu_mb_per_s);
        best.wall_mb_per_s = std::max(best.wall_mb_per_s, r.wall_mb_per_s);
    }
    return best;
}

struct Options {
    std::size_t mib = 256;
    std::size_t write_bytes = record_bytes_max;
    std::string json_path;  // empty: no JSON
};

// False (after the usage line) on an unknown or incomplete argument.
bool parse_options(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--mib" && i + 1 < argc) {
            o.mib = std::strtoull(argv[++i], nullptr, 10);
        } else if (arg == "--write-bytes" && i + 1 < argc) {
            o.write_bytes = std::strtoull(argv[++i], nullptr, 10);
        } else if (arg == "--json" && i + 1 < argc) {
            o.json_path = argv[++i];
        } else {
            std::fprintf(stderr, "usage: tls_bench [--mib N] [--write-bytes 1..16384] [--json FILE]\n");
            return false;
        }
    }
    o.mib = std::clamp<std::size_t>(o.mib, 1, std::size_t{64} * 1024);
    o.write_bytes = std::clamp<std::size_t>(o.write_bytes, 1, record_bytes_max);
    return true;
}

// What one run measured: both rates and the device's counters over its runs.
struct Figures {
    Rate software;
    Rate device;
    vmx::crypto::TlsDeviceCounters device_counters;
};

void print_figures(const Figures& f) {
    std::printf("%-36s %12s %12s\n", "", "MB/CPU-s", "MB/s wall");
    std::printf("%-36s %12.1f %12.1f  (1 run)\n", "wolfSSL software AES-GCM", f.software.cpu_mb_per_s,
                f.software.wall_mb_per_s);
    std::printf("%-36s %12.1f %12.1f  (best of 3)\n", "crypto-callback device (ipsec-mb)", f.device.cpu_mb_per_s,
                f.device.wall_mb_per_s);
    std::printf("%-36s %11.1fx %11.1fx\n", "ratio device/software", f.device.cpu_mb_per_s / f.software.cpu_mb_per_s,
                f.device.wall_mb_per_s / f.software.wall_mb_per_s);
    std::printf("device counters during the device runs: %llu seals, %llu opens, %llu fallbacks\n",
                static_cast<unsigned long long>(f.device_counters.gcm_encrypts),
                static_cast<unsigned long long>(f.device_counters.gcm_decrypts),
                static_cast<unsigned long long>(f.device_counters.fallbacks));
}

// The figures of print_figures as one JSON object (MB = 10^6 bytes, as printed).
std::string figures_json(const Options& o, const Figures& f) {
    return fmt::format(
        "{{\"benchmark\": \"tls_bench\", \"cipher\": {}, \"aead\": {}, \"transfer_mib\": {}, "
        "\"write_bytes\": {}, \"software_runs\": 1, \"software_cpu_mb_per_s\": {:.1f}, "
        "\"software_wall_mb_per_s\": {:.1f}, \"device_runs\": 3, \"device_cpu_mb_per_s\": {:.1f}, "
        "\"device_wall_mb_per_s\": {:.1f}, \"device_over_software_cpu_ratio\": {:.3f}, "
        "\"device_over_software_wall_ratio\": {:.3f}, \"device_seals\": {}, \"device_opens\": {}, "
        "\"device_fallbacks\": {}}}\n",
        vmx::json_string(cipher), vmx::json_string(vmx::crypto::aead_implementation()), o.mib, o.write_bytes,
        f.software.cpu_mb_per_s, f.software.wall_mb_per_s, f.device.cpu_mb_per_s, f.device.wall_mb_per_s,
        f.device.cpu_mb_per_s / f.software.cpu_mb_per_s, f.device.wall_mb_per_s / f.software.wall_mb_per_s,
        f.device_counters.gcm_encrypts, f.device_counters.gcm_decrypts, f.device_counters.fallbacks);
}

// False (after a message) if the file cannot be written.
bool write_file(const std::string& path, const std::string& text) {
    std::FILE* file = std::fopen(path.c_str(), "w");
    const bool written = file != nullptr && std::fwrite(text.data(), 1, text.size(), file) == text.size();
    if ((file != nullptr && std::fclose(file) != 0) || !written) {
        std::fprintf(stderr, "tls_bench: cannot write %s\n", path.c_str());
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_options(argc, argv, o)) return 2;
    wolfSSL_Init();
    if (!vmx::crypto::tls_crypto_device()) {
        std::fprintf(stderr, "tls_bench: the crypto-callback device could not be registered\n");
        return 1;
    }
    const std::size_t bytes = o.mib * 1024 * 1024;
    std::printf("TLS 1.3 %s, in memory, client+server on one thread, %zu MiB client->server in %zu-byte writes\n",
                cipher, o.mib, o.write_bytes);
    std::printf("aead: %s\n", vmx::crypto::aead_implementation());

    Figures f;
    const auto before = vmx::crypto::tls_device_counters();
    f.device = best_of(Device::ours, bytes, o.write_bytes, 3);
    const auto after = vmx::crypto::tls_device_counters();
    f.software = best_of(Device::software, bytes, o.write_bytes, 1);
    if (f.software.cpu_mb_per_s <= 0 || f.device.cpu_mb_per_s <= 0) {
        std::fprintf(stderr, "tls_bench: a session failed (handshake, write or read)\n");
        return 1;
    }
    f.device_counters.gcm_encrypts = after.gcm_encrypts - before.gcm_encrypts;
    f.device_counters.gcm_decrypts = after.gcm_decrypts - before.gcm_decrypts;
    f.device_counters.fallbacks = after.fallbacks - before.fallbacks;
    print_figures(f);
    wolfSSL_Cleanup();
    if (!o.json_path.empty() && !write_file(o.json_path, figures_json(o, f))) return 1;
    return 0;
}
