// The c-ares error category (see ares_category.h).
#include "net/dns/ares_category.h"

#include <ares.h>

#include <string>

namespace vmx::net::dns {
namespace {

class AresCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "c-ares"; }
    std::string message(int value) const override { return ares_strerror(value); }
};

}  // namespace

const std::error_category& ares_category() noexcept {
    static const AresCategory category;
    return category;
}

}  // namespace vmx::net::dns
