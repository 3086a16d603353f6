#include "core/errc.h"

#include <string>

namespace vmx {
namespace {

class CoreCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "vmx.core"; }
    std::string message(int value) const override {
        switch (static_cast<CoreErrc>(value)) {
            case CoreErrc::ok: return "ok";
            case CoreErrc::queue_full: return "queue full";
            case CoreErrc::table_full: return "connection table full";
            case CoreErrc::bad_address: return "bad listen address (want host:port)";
            case CoreErrc::ring_setup_failed: return "io_uring setup failed";
            case CoreErrc::closed: return "connection closing";
            case CoreErrc::send_queue_full: return "send queue full";
        }
        return "unknown core error";
    }
};

}  // namespace

const std::error_category& core_category() noexcept {
    static const CoreCategory category;
    return category;
}

}  // namespace vmx
