#include "crypto/errc.h"

#include <string>

namespace vmx::crypto {
namespace {

class CryptoCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmx.crypto"; }
    std::string message(int value) const override {
        switch (static_cast<CryptoErrc>(value)) {
            case CryptoErrc::ok: return "ok";
            case CryptoErrc::authentication_failed: return "authentication failed";
            case CryptoErrc::bad_record: return "malformed sealed record";
            case CryptoErrc::unsupported_version: return "unsupported format version";
            case CryptoErrc::wrong_identity: return "record sealed for another identity";
            case CryptoErrc::key_not_found: return "key not found";
            case CryptoErrc::key_destroyed: return "key destroyed";
            case CryptoErrc::key_file_insecure: return "key file is readable by group or others";
            case CryptoErrc::key_file_invalid: return "key file does not hold a 256-bit key";
            case CryptoErrc::random_failed: return "random source failed";
            case CryptoErrc::invalid_argument: return "invalid argument";
            case CryptoErrc::usage_exhausted: return "key reached its usage limit";
            case CryptoErrc::password_hash_failed: return "password hashing failed";
            case CryptoErrc::tls_setup_failed: return "TLS crypto device setup failed";
            case CryptoErrc::key_generation_failed: return "key generation failed";
        }
        return "unknown crypto error";
    }
};

}  // namespace

const std::error_category& crypto_category() noexcept {
    static const CryptoCategory category;
    return category;
}

}  // namespace vmx::crypto
