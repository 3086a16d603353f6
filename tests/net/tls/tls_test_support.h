// Test helpers for the TLS layer: contexts over the test certificates, per-domain certificates made
// on the fly, and a pump that joins two TlsSessions in memory. One thread only.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "crypto/self_signed_cert.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_session.h"

#ifndef VMX_TEST_DATA_DIR
#error "VMX_TEST_DATA_DIR must name tests/data (see tests/net/tls.cmake)"
#endif

namespace vmx::net::test {

inline std::string test_data(const char* name) { return std::string(VMX_TEST_DATA_DIR "/tls/") + name; }

inline TlsCertificatePaths default_paths() { return {test_data("test-cert.pem"), test_data("test-key.pem")}; }

inline std::shared_ptr<const TlsServerContext> server_context(TlsServerOptions o = {}) {
    if (o.certificate.chain_path.empty()) o.certificate = default_paths();
    std::string detail;
    auto ctx = TlsServerContext::create(o, detail);
    if (!ctx) {
        std::fprintf(stderr, "server context: %s\n", detail.c_str());
        std::abort();
    }
    return *ctx;
}

// A client that trusts the test certificate (a self-signed CA for localhost) and verifies it.
inline std::shared_ptr<const TlsClientContext> client_context(TlsVersionMax max = TlsVersionMax::tls13,
                                                             TlsVerify verify = TlsVerify::peer,
                                                             std::string ca = test_data("test-cert.pem")) {
    std::string detail;
    TlsClientOptions options;
    options.verify = verify;
    options.version_max = max;
    options.ca_file = std::move(ca);
    auto ctx = TlsClientContext::create(options, detail);
    if (!ctx) {
        std::fprintf(stderr, "client context: %s\n", detail.c_str());
        std::abort();
    }
    return *ctx;
}

// A temporary directory removed with its files at the end of the test.
struct TempDir {
    TempDir() {
        char pattern[] = "/tmp/vmx-tls-XXXXXX";
        path = mkdtemp(pattern);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name) const { return path + "/" + name; }
    std::string path;
};

// A fresh self-signed certificate for `name`, written to dir; its paths.
inline TlsCertificatePaths make_cert(const TempDir& dir, const std::string& name) {
    crypto::SelfSignedRequest req;
    req.common_name = name;
    req.dns_names = {name};
    req.ip_addresses = {};
    const std::string cert = dir.file(name + ".crt");
    const std::string key = dir.file(name + ".key");
    if (!crypto::write_self_signed(req, cert, key)) std::abort();
    return {cert, key};
}

// Moves bytes both ways until neither side has anything to send. False on the first error.
struct Pump {
    Pump(TlsSession& c, TlsSession& s) : client(c), server(s) {}
    TlsSession& client;
    TlsSession& server;
    std::string to_client_plain;
    std::string to_server_plain;
    std::error_code error;

    bool run(int rounds_max = 64) {
        for (int i = 0; i < rounds_max; ++i) {
            // Both directions every round (no short circuit).
            const bool to_server = move(client, server, to_server_plain);
            const bool to_client = move(server, client, to_client_plain);
            const bool moved = to_server || to_client;
            if (error) return false;
            if (!moved) return true;
        }
        return true;
    }
    bool move(TlsSession& from, TlsSession& to, std::string& plain) {
        if (error || from.outgoing().empty()) return false;
        const std::string bytes(from.outgoing());
        from.clear_outgoing();
        if (auto r = to.feed(bytes, plain); !r) error = r.error();
        return true;
    }
};

}  // namespace vmx::net::test
