// The net layer's error category: names for NetErrc values in logs and replies.
#include "net/errc.h"

#include <string>

namespace vmx::net {
namespace {

class NetCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmx.net"; }
    std::string message(int value) const override {
        switch (static_cast<NetErrc>(value)) {
            case NetErrc::ok: return "ok";
            case NetErrc::tls_setup_failed: return "TLS context could not be set up";
            case NetErrc::tls_handshake_failed: return "TLS handshake failed";
            case NetErrc::tls_protocol: return "TLS protocol error";
            case NetErrc::peer_closed: return "peer closed the connection";
            case NetErrc::line_too_long: return "line too long";
            case NetErrc::tls_certificate_invalid: return "TLS certificate chain could not be loaded";
            case NetErrc::tls_key_invalid: return "TLS private key could not be loaded";
            case NetErrc::tls_key_mismatch: return "TLS private key does not match the certificate";
            case NetErrc::tls_not_ready: return "TLS handshake not finished";
            case NetErrc::tls_buffer_full: return "TLS buffer limit reached";
            case NetErrc::tls_unavailable: return "TLS not available on this connection";
            case NetErrc::dns_busy: return "DNS resolver busy";
            case NetErrc::dns_invalid_name: return "invalid DNS name";
            case NetErrc::dns_bad_server: return "DNS server is not IP:PORT";
            case NetErrc::dns_setup_failed: return "DNS resolver could not be set up";
        }
        return "unknown net error";
    }
};

}  // namespace

const std::error_category& net_category() noexcept {
    static const NetCategory category;
    return category;
}

}  // namespace vmx::net
