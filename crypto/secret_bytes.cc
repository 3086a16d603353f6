// Secret memory. Small secrets (up to 2 KiB) come from a locked arena: 64 KiB chunks mmap'ed,
// mlock'ed and marked MADV_DONTDUMP once, cut into power-of-two slots kept on free lists. One mapping
// per key would cost a page of RLIMIT_MEMLOCK (8 MiB by default) and a VMA (vm.max_map_count, 65530)
// per key, and an appliance holds one scope key per "ultimate" user. Larger secrets get their own
// mapping. Slots are wiped when released; chunks are never unmapped. The arena takes a mutex, which
// is fine: secrets are created and released with key-set changes, never per record.
#include "crypto/secret_bytes.h"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>

#include "core/assert.h"
#include "crypto/random.h"

namespace vmx::crypto {
namespace {

constexpr std::size_t slot_bytes_min = 32;
constexpr std::size_t slot_bytes_max = 2048;
constexpr std::size_t slot_class_count = 7;  // 32, 64, ..., 2048
constexpr std::size_t chunk_bytes = std::size_t{64} * 1024;
static_assert(slot_bytes_min << (slot_class_count - 1) == slot_bytes_max);

std::atomic<std::uint64_t> lock_failures{0};
std::atomic<std::uint64_t> dontdump_failures{0};
std::atomic<std::uint64_t> mapped_bytes{0};

std::size_t page_bytes() noexcept {
    static const std::size_t bytes = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return bytes;
}

// A private anonymous mapping, locked and excluded from core dumps (each best effort, counted).
// Running out of address space is treated like operator new failing: the process cannot go on.
std::uint8_t* map_secret(std::size_t bytes) noexcept {
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    VMX_ASSERT(p != MAP_FAILED);
    if (::madvise(p, bytes, MADV_DONTDUMP) != 0) dontdump_failures.fetch_add(1, std::memory_order_relaxed);
    if (::mlock(p, bytes) != 0) lock_failures.fetch_add(1, std::memory_order_relaxed);
    mapped_bytes.fetch_add(bytes, std::memory_order_relaxed);
    return static_cast<std::uint8_t*>(p);
}

void unmap_secret(std::uint8_t* p, std::size_t bytes) noexcept {
    ::munmap(p, bytes);  // also drops the lock
    mapped_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

std::size_t slot_class(std::size_t capacity) noexcept {
    return static_cast<std::size_t>(std::countr_zero(capacity / slot_bytes_min));
}

class Arena {
public:
    std::uint8_t* take(std::size_t cls) noexcept {
        std::lock_guard lock(mutex_);
        if (free_[cls] == nullptr) refill(cls);
        FreeSlot* slot = free_[cls];
        free_[cls] = slot->next;
        secure_wipe(slot, sizeof(FreeSlot));  // the caller gets an all-zero slot
        return reinterpret_cast<std::uint8_t*>(slot);
    }

    // `p` has been wiped by the caller.
    void give(std::uint8_t* p, std::size_t cls) noexcept {
        std::lock_guard lock(mutex_);
        auto* slot = reinterpret_cast<FreeSlot*>(p);
        slot->next = free_[cls];
        free_[cls] = slot;
    }

private:
    struct FreeSlot {
        FreeSlot* next;
    };

    void refill(std::size_t cls) noexcept {
        const std::size_t slot = slot_bytes_min << cls;
        std::uint8_t* chunk = map_secret(chunk_bytes);
        for (std::size_t offset = chunk_bytes; offset >= slot; offset -= slot) {
            auto* s = reinterpret_cast<FreeSlot*>(chunk + offset - slot);
            s->next = free_[cls];
            free_[cls] = s;
        }
    }

    std::mutex mutex_;
    std::array<FreeSlot*, slot_class_count> free_{};
};

// Never destroyed: a SecretBytes may be released during static destruction. Out of memory here
// ends the process, as it does anywhere else in the tree.
Arena& arena() noexcept {
    static Arena* const instance = new Arena;  // NOLINT(bugprone-unhandled-exception-at-new)
    return *instance;
}

}  // namespace

void secure_wipe(void* data, std::size_t bytes) noexcept {
    if (bytes != 0) ::explicit_bzero(data, bytes);
}

bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept {
    if (a.size() != b.size()) return false;
    // Volatile reads: every byte is loaded and folded in; nothing lets the loop stop early.
    const volatile std::uint8_t* pa = a.data();
    const volatile std::uint8_t* pb = b.data();
    std::uint8_t difference = 0;
    for (std::size_t i = 0; i < a.size(); ++i) difference = static_cast<std::uint8_t>(difference | (pa[i] ^ pb[i]));
    return difference == 0;
}

SecretBytes SecretBytes::zeroed(std::size_t n) {
    if (n == 0) return {};
    if (n <= slot_bytes_max) {
        const std::size_t capacity = std::bit_ceil(n < slot_bytes_min ? slot_bytes_min : n);
        return SecretBytes(arena().take(slot_class(capacity)), n, capacity);
    }
    const std::size_t capacity = (n + page_bytes() - 1) / page_bytes() * page_bytes();
    return SecretBytes(map_secret(capacity), n, capacity);
}

Result<SecretBytes> SecretBytes::random(std::size_t n) {
    SecretBytes s = zeroed(n);
    if (auto r = random_bytes(s.mutable_view()); !r) return fail(r.error());
    return s;
}

SecretBytes SecretBytes::copy_of(std::span<const std::uint8_t> bytes) {
    SecretBytes s = zeroed(bytes.size());
    if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
    return s;
}

SecretBytes::~SecretBytes() { release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
    other.data_ = nullptr;
    other.size_ = 0;
    other.capacity_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
        release();
        data_ = other.data_;
        size_ = other.size_;
        capacity_ = other.capacity_;
        other.data_ = nullptr;
        other.size_ = 0;
        other.capacity_ = 0;
    }
    return *this;
}

bool SecretBytes::constant_time_equal(std::span<const std::uint8_t> other) const noexcept {
    return crypto::constant_time_equal(view(), other);
}

void SecretBytes::release() noexcept {
    if (data_ == nullptr) return;
    secure_wipe(data_, capacity_);
    if (capacity_ <= slot_bytes_max) {
        arena().give(data_, slot_class(capacity_));
    } else {
        unmap_secret(data_, capacity_);
    }
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
}

SecretMemoryStats secret_memory_stats() noexcept {
    return {lock_failures.load(std::memory_order_relaxed), dontdump_failures.load(std::memory_order_relaxed),
            mapped_bytes.load(std::memory_order_relaxed)};
}

}  // namespace vmx::crypto
