#include "appliance/daemon/unavailable_service.h"

namespace vmx {

std::string unavailable_greeting(const std::string& listener_name) {
    // Submission without a certificate: a password must never cross the wire in clear.
    if (listener_name == "smtp" || listener_name == "submission")
        return "554 5.3.2 vaultmx: service not available on this listener (no TLS certificate)\r\n";
    return {};  // submission_tls, pop3s: implicit TLS, so no plaintext byte is sent
}

}  // namespace vmx
