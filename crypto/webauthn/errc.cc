#include "crypto/webauthn/errc.h"

#include <string>

namespace vmx::crypto::webauthn {
namespace {

class WebauthnCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmx.webauthn"; }
    std::string message(int value) const override {
        switch (static_cast<WebauthnErrc>(value)) {
            case WebauthnErrc::ok: return "ok";
            case WebauthnErrc::malformed: return "malformed WebAuthn data";
            case WebauthnErrc::too_large: return "WebAuthn data over its limit";
            case WebauthnErrc::wrong_type: return "client data of the wrong ceremony type";
            case WebauthnErrc::wrong_challenge: return "challenge does not match";
            case WebauthnErrc::wrong_origin: return "origin does not match";
            case WebauthnErrc::wrong_rp: return "RP ID hash does not match";
            case WebauthnErrc::user_not_present: return "user presence flag clear";
            case WebauthnErrc::user_not_verified: return "user verification required but flag clear";
            case WebauthnErrc::unsupported_key: return "unsupported credential key type or algorithm";
            case WebauthnErrc::bad_signature: return "signature does not verify";
            case WebauthnErrc::counter_regressed: return "sign counter did not increase";
        }
        return "unknown WebAuthn error";
    }
};

}  // namespace

const std::error_category& webauthn_category() noexcept {
    static const WebauthnCategory category;
    return category;
}

}  // namespace vmx::crypto::webauthn
