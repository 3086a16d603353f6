// Assertion failure: print one line and abort, so a core dump (if enabled) shows the state.
#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace vmx::detail {

void assert_failed(const char* expr, const char* file, int line) noexcept {
    std::fprintf(stderr, "vaultmx: assertion failed: %s at %s:%d\n", expr, file, line);  // stderr is unbuffered
    std::abort();
}

}  // namespace vmx::detail
