// SHA-256 of a stream of bytes (wolfCrypt), for file digests such as a backup's manifest. Not for
// secrets: nothing here is wiped. Any thread; one Sha256 per thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"

namespace vmx::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::span<const std::uint8_t> bytes);
    // The digest of everything updated; failed if wolfCrypt refused a step. Once only.
    Result<Sha256Digest> finish();

private:
    struct State;
    std::unique_ptr<State> state_;
    bool failed_ = false;
};

// The digest of a whole file, read in large blocks; `bytes` gets its size.
Result<Sha256Digest> sha256_file(const std::string& path, std::uint64_t& bytes);

}  // namespace vmx::crypto
