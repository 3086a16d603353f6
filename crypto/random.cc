// getrandom(2) in a loop: it may return fewer bytes than asked (signals, requests over 256 bytes) and
// fail with EINTR; both are retried. Any other failure is reported, never papered over.
// Small requests (a sealed record's DEK and IV, 44 bytes) come from a per-thread pool filled by one
// getrandom call for about 90 records, instead of a syscall each (about 1.2 us in a VM). The pool is
// its own page: locked, left out of core dumps, and wiped in a forked child (MADV_WIPEONFORK, which
// zeroes the fill count too, so a child refills and never reuses its parent's bytes). Every byte is
// wiped from the pool as it is handed out. Where the page cannot be set up so, the thread uses
// getrandom directly.
#include "crypto/random.h"

#include <sys/mman.h>
#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "crypto/errc.h"
#include "crypto/secret_bytes.h"

namespace vmx::crypto {
namespace {

constexpr std::size_t pool_page_bytes = 4096;
constexpr std::size_t pooled_request_bytes_max = 64;  // larger requests go to getrandom directly

struct PoolPage {
    std::size_t available;  // unread bytes: bytes[0, available)
    std::uint8_t bytes[pool_page_bytes - 64];
};
static_assert(sizeof(PoolPage) <= pool_page_bytes);

bool fill_from_kernel(std::uint8_t* out, std::size_t bytes) noexcept {
    std::size_t filled = 0;
    while (filled < bytes) {
        const ssize_t got = ::getrandom(out + filled, bytes - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        filled += static_cast<std::size_t>(got);
    }
    return true;
}

class RandomPool {
public:
    RandomPool() noexcept {
        void* p = ::mmap(nullptr, pool_page_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return;
        if (::madvise(p, pool_page_bytes, MADV_WIPEONFORK) != 0 || ::madvise(p, pool_page_bytes, MADV_DONTDUMP) != 0 ||
            ::mlock(p, pool_page_bytes) != 0) {
            ::munmap(p, pool_page_bytes);
            return;
        }
        page_ = static_cast<PoolPage*>(p);  // zero-filled: available == 0
    }
    ~RandomPool() {
        if (page_ == nullptr) return;
        secure_wipe(page_, pool_page_bytes);
        ::munlock(page_, pool_page_bytes);
        ::munmap(page_, pool_page_bytes);
    }
    RandomPool(const RandomPool&) = delete;
    RandomPool& operator=(const RandomPool&) = delete;

    bool usable() const noexcept { return page_ != nullptr; }

    // Fills `out` (at most pooled_request_bytes_max) from the pool, refilling it when short.
    bool take(std::span<std::uint8_t> out) noexcept {
        if (page_->available < out.size()) {
            if (!fill_from_kernel(page_->bytes, sizeof page_->bytes)) {
                secure_wipe(page_->bytes, sizeof page_->bytes);
                page_->available = 0;
                return false;
            }
            page_->available = sizeof page_->bytes;
        }
        std::uint8_t* from = page_->bytes + page_->available - out.size();
        std::memcpy(out.data(), from, out.size());
        secure_wipe(from, out.size());
        page_->available -= out.size();
        return true;
    }

private:
    PoolPage* page_ = nullptr;
};

}  // namespace

Result<void> random_bytes(std::span<std::uint8_t> out) {
    if (out.empty()) return {};
    if (out.size() <= pooled_request_bytes_max) {
        thread_local RandomPool pool;
        if (pool.usable()) {
            if (pool.take(out)) return {};
            std::memset(out.data(), 0, out.size());
            return fail(CryptoErrc::random_failed);
        }
    }
    if (!fill_from_kernel(out.data(), out.size())) {
        std::memset(out.data(), 0, out.size());
        return fail(CryptoErrc::random_failed);
    }
    return {};
}

}  // namespace vmx::crypto
