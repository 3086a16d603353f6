#include "appliance/daemon/unavailable_service.h"

namespace vmx {

std::string unavailable_greeting(const std::string& listener_name) {
    if (listener_name == "smtp" || listener_name == "submission")
        return "554 5.3.2 vaultmx: service not available on this listener\r\n";
    return {};  // submission_tls, pop3s: implicit TLS, so no plaintext byte is sent
}

}  // namespace vmx
