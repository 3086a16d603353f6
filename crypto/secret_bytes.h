// SecretBytes: the one owner of long-lived key material (master key, scope keys, derived keys).
// Any thread may create, move or destroy one; a single object is not shared between threads
// without synchronisation. Invariants: the bytes live in memory that is mlock'ed (best effort,
// failures counted), excluded from core dumps (MADV_DONTDUMP) and wiped when released; the type is
// move-only and has no stream operator, no {fmt} formatter and no conversion to text, so it cannot
// reach a log line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>

#include "core/result.h"

namespace vmx::crypto {

// Overwrites memory in a way the optimiser may not remove (explicit_bzero).
void secure_wipe(void* data, std::size_t bytes) noexcept;
inline void secure_wipe(std::span<std::uint8_t> bytes) noexcept { secure_wipe(bytes.data(), bytes.size()); }

// Compares without an early exit: the time depends on the lengths only, never on the contents.
// Different lengths compare unequal (lengths are not secret).
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

class SecretBytes {
public:
    SecretBytes() noexcept = default;  // empty
    ~SecretBytes();
    SecretBytes(SecretBytes&& other) noexcept;
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;

    // n bytes from the kernel's random source.
    static Result<SecretBytes> random(std::size_t n);
    // A copy in secret memory. The caller wipes its own copy of the source.
    static SecretBytes copy_of(std::span<const std::uint8_t> bytes);
    // n zero bytes, to be filled through mutable_view() (for example straight from a key file, so
    // that no other copy exists).
    static SecretBytes zeroed(std::size_t n);

    std::span<const std::uint8_t> view() const noexcept { return {data_, size_}; }
    std::span<std::uint8_t> mutable_view() noexcept { return {data_, size_}; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    bool constant_time_equal(std::span<const std::uint8_t> other) const noexcept;

    // Printing a secret is a compile error, not a code-review finding.
    friend std::ostream& operator<<(std::ostream&, const SecretBytes&) = delete;

private:
    SecretBytes(std::uint8_t* data, std::size_t size, std::size_t capacity) noexcept
        : data_(data), size_(size), capacity_(capacity) {}
    void release() noexcept;

    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;  // bytes reserved: an arena slot size or a whole mapping
};

// Health of the secret memory, for metrics and a start-up warning: a lock failure means some key
// pages may be swapped (raise RLIMIT_MEMLOCK / LimitMEMLOCK=); a dontdump failure means they may
// appear in a core dump.
struct SecretMemoryStats {
    std::uint64_t lock_failures = 0;
    std::uint64_t dontdump_failures = 0;
    std::uint64_t mapped_bytes = 0;  // secret memory mapped now (arena chunks + large mappings)
};
SecretMemoryStats secret_memory_stats() noexcept;

}  // namespace vmx::crypto
