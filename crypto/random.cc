// getrandom(2) in a loop: it may return fewer bytes than asked (signals, requests over 256 bytes) and
// fail with EINTR; both are retried. Any other failure is reported, never papered over.
#include "crypto/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "crypto/errc.h"

namespace vmx::crypto {

Result<void> random_bytes(std::span<std::uint8_t> out) {
    std::size_t filled = 0;
    while (filled < out.size()) {
        const ssize_t got = ::getrandom(out.data() + filled, out.size() - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            std::memset(out.data(), 0, out.size());
            return fail(CryptoErrc::random_failed);
        }
        filled += static_cast<std::size_t>(got);
    }
    return {};
}

}  // namespace vmx::crypto
