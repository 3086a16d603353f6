// VMX_ASSERT: checks of programmer errors, on in every build type. Never use it on data that came
// from the network or from disk: those failures are values (core/result.h).
#pragma once

namespace vmx::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line) noexcept;
}

#define VMX_ASSERT(expr) \
    ((expr) ? static_cast<void>(0) : ::vmx::detail::assert_failed(#expr, __FILE__, __LINE__))
