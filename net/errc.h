// Error codes of the net layer (TLS over the ring, protocol adapters), with their error_category.
#pragma once

#include <system_error>

namespace vmx::net {

enum class NetErrc {
    ok = 0,
    tls_setup_failed = 1,      // a TLS context could not be built (certificate, key, policy)
    tls_handshake_failed = 2,  // the peer's handshake was refused or broken
    tls_protocol = 3,          // a TLS record failed after the handshake (bad MAC, alert)
    peer_closed = 4,           // the peer closed the TLS session or the connection
    line_too_long = 5,         // an input line passed its configured limit
    tls_certificate_invalid = 6,  // a certificate chain file is missing or does not parse
    tls_key_invalid = 7,          // a private key file is missing or does not parse
    tls_key_mismatch = 8,         // the private key does not belong to the certificate
    tls_not_ready = 9,            // TLS data asked for before the handshake finished
    tls_buffer_full = 10,         // a bounded TLS or stream buffer would pass its limit
    tls_unavailable = 11,         // STARTTLS asked on a listener without TLS, or twice
    dns_busy = 12,                // the resolver has its limit of requests in flight
    dns_invalid_name = 13,        // a name to look up is malformed or too long
    dns_bad_server = 14,          // a configured DNS server is not "IP:PORT"
    dns_setup_failed = 15,        // c-ares could not set up its channel
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(NetErrc e) noexcept { return {static_cast<int>(e), net_category()}; }

}  // namespace vmx::net

template <>
struct std::is_error_code_enum<vmx::net::NetErrc> : std::true_type {};
