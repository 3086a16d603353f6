// Fuzz target: the TOML config loader must turn any bytes into a Config or a one-line error,
// never a crash, an exception or a multi-line message.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "appliance/config/config.h"
#include "core/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto result = vmx::parse_config(text, "fuzz.toml");
    if (auto* error = std::get_if<vmx::ConfigError>(&result)) {
        VMX_ASSERT(!error->message.empty());
        VMX_ASSERT(error->message.find('\n') == std::string::npos);
    } else {
        // What parses must describe itself as TOML that parses back.
        const std::string described = vmx::describe_config(std::get<vmx::Config>(result));
        VMX_ASSERT(std::holds_alternative<vmx::Config>(vmx::parse_config(described, "described.toml")));
    }
    return 0;
}
