// Send-side buffers. A connection's unsent bytes sit in a list of fixed-size chunks taken from
// the shard's pool and returned to it once sent, so steady-state sending allocates nothing and
// an idle connection holds no buffer at all. Shard thread only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/assert.h"

namespace vmx {

struct OutChunk {
    static constexpr std::size_t data_bytes = 16384 - 2 * sizeof(void*);
    OutChunk* next = nullptr;
    std::uint32_t start = 0;  // first unsent byte
    std::uint32_t end = 0;    // one past the last queued byte
    char data[data_bytes];
};

class ChunkPool {
public:
    explicit ChunkPool(std::size_t free_chunks_kept_max) : kept_max_(free_chunks_kept_max) {}
    ~ChunkPool() {
        while (free_) {
            OutChunk* c = free_;
            free_ = c->next;
            delete c;
        }
    }
    ChunkPool(const ChunkPool&) = delete;
    ChunkPool& operator=(const ChunkPool&) = delete;

    OutChunk* take() {
        OutChunk* c = free_;
        if (c) {
            free_ = c->next;
            --kept_;
        } else {
            c = new OutChunk;
        }
        c->next = nullptr;
        c->start = c->end = 0;
        ++in_use_;
        return c;
    }
    void give(OutChunk* c) noexcept {
        VMX_ASSERT(in_use_ > 0);
        --in_use_;
        if (kept_ >= kept_max_) {
            delete c;
            return;
        }
        c->next = free_;
        free_ = c;
        ++kept_;
    }
    std::size_t in_use() const noexcept { return in_use_; }
    std::size_t kept() const noexcept { return kept_; }

private:
    OutChunk* free_ = nullptr;
    std::size_t kept_ = 0;
    std::size_t in_use_ = 0;
    const std::size_t kept_max_;
};

}  // namespace vmx
