// calloc for the programs that run on mimalloc (linked into each by vmx_link_allocator): requests of
// 1 MiB or more get page-aligned memory whose whole pages are handed back to the kernel with
// MADV_DONTNEED instead of being written with zeros, so they read as zero and cost nothing until
// touched. The reason is LMDB: every writable environment callocs a 2 MiB dirty-page list at open,
// and with one environment per segment and kind mimalloc's memset of those lists was about half a
// second of CPU and 34,000 page faults at every start. The executable's calloc takes precedence
// over libmimalloc's for the shared libraries (LMDB among them) and our own code alike.
#include <errno.h>
#include <mimalloc.h>
#include <string.h>
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>

namespace {

constexpr std::size_t page_bytes = 4096;
constexpr std::size_t lazy_bytes_min = std::size_t{1} << 20;

}  // namespace

extern "C" void* calloc(std::size_t count, std::size_t size) {
    std::size_t bytes = 0;
    if (__builtin_mul_overflow(count, size, &bytes)) {
        errno = ENOMEM;
        return nullptr;
    }
    if (bytes < lazy_bytes_min) return mi_calloc(count, size);
    void* p = mi_malloc_aligned(bytes, page_bytes);
    if (p == nullptr) return nullptr;
    const std::size_t whole = bytes & ~(page_bytes - 1);
    // Private anonymous memory reads as zero after MADV_DONTNEED; if the kernel refuses (a huge-page
    // mapping), write the zeros after all.
    if (::madvise(p, whole, MADV_DONTNEED) != 0) ::memset(p, 0, whole);
    ::memset(static_cast<std::uint8_t*>(p) + whole, 0, bytes - whole);
    return p;
}
