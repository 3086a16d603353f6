// Fuzz target: arbitrary bytes from a "client" into a server TlsSession, fed whole and in small
// pieces, and now and then into a session whose handshake is done. Must never crash, leak, grow
// without bound, or yield plaintext before a handshake. ctest replays the corpus
// (tests/fuzz/corpus/tls_record: captured ClientHellos) with mutations; scripts/fuzz runs libFuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/tls/tls_context.h"
#include "net/tls/tls_session.h"

#ifndef VMX_TEST_DATA_DIR
#error "VMX_TEST_DATA_DIR must name tests/data (see tests/net/tls.cmake)"
#endif

namespace {

using vmx::net::TlsClientContext;
using vmx::net::TlsServerContext;
using vmx::net::TlsSession;

void check_at(bool ok, int line) {
    if (ok) return;
    std::fprintf(stderr, "tls_record_fuzz: check failed at line %d\n", line);
    std::abort();
}
#define check(ok) check_at((ok), __LINE__)

const TlsServerContext& server_context() {
    static const auto ctx = [] {
        vmx::net::TlsServerOptions o;
        const std::string dir = VMX_TEST_DATA_DIR "/tls/";
        o.certificate = {dir + "test-cert.pem", dir + "test-key.pem"};
        o.sni["mail.example.org"] = {dir + "test-rsa-cert.pem", dir + "test-rsa-key.pem"};
        std::string detail;
        auto r = TlsServerContext::create(o, detail);
        check(r.has_value());
        return *r;
    }();
    return *ctx;
}

const TlsClientContext& client_context() {
    static const auto ctx = [] {
        std::string detail;
        auto r = TlsClientContext::create({}, detail);
        check(r.has_value());
        return *r;
    }();
    return *ctx;
}

// Bytes in, bounded bytes out; after an error the session refuses everything.
void feed_in_pieces(TlsSession& s, std::string_view input, std::size_t piece_bytes, bool established) {
    std::string plain;
    while (!input.empty()) {
        const std::string_view piece = input.substr(0, piece_bytes);
        input.remove_prefix(piece.size());
        const bool ok = s.feed(piece, plain).has_value();
        check(s.outgoing().size() <= 65536);
        s.clear_outgoing();
        if (!ok) {
            check(s.state() == vmx::net::TlsState::failed);
            check(!s.feed("x", plain).has_value());
            break;
        }
    }
    check(established || plain.empty());
    check(plain.size() <= input.size() + vmx::net::tls_record_plain_bytes_max + piece_bytes + 65536);
}

std::unique_ptr<TlsSession> established_server() {
    auto server = TlsSession::accept(server_context());
    auto client = TlsSession::connect(client_context(), "localhost");
    check(server && client);
    std::string plain;
    for (int i = 0; i < 8 && !(*server)->handshake_done(); ++i) {
        check((*server)->feed((*client)->outgoing(), plain).has_value());
        (*client)->clear_outgoing();
        check((*client)->feed((*server)->outgoing(), plain).has_value());
        (*server)->clear_outgoing();
    }
    check((*server)->handshake_done());
    return std::move(*server);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    {
        auto s = TlsSession::accept(server_context());
        check(s.has_value());
        feed_in_pieces(**s, input, input.size() + 1, false);
    }
    {
        auto s = TlsSession::accept(server_context());
        check(s.has_value());
        feed_in_pieces(**s, input, 7, false);
    }
    // A full handshake per input is slow: one input in sixteen goes to an established session.
    if (size % 16 == 0) {
        auto s = established_server();
        feed_in_pieces(*s, input, 4096, true);
    }
    return 0;
}
