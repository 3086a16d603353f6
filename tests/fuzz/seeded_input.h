// How the stateful fuzz targets read their input: the first 8 bytes seed the simulated peer's
// choices (chunk sizes, verdicts, events), the rest is the byte stream under test. Test-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>

namespace vmx::fuzz {

struct SeededInput {
    std::mt19937_64 rng;
    std::string_view stream;
};

inline SeededInput seeded_input(const std::uint8_t* data, std::size_t size) {
    std::uint64_t seed = 0;
    const std::size_t seed_bytes = size < 8 ? size : 8;
    std::memcpy(&seed, data, seed_bytes);
    return {std::mt19937_64(seed), std::string_view(reinterpret_cast<const char*>(data) + seed_bytes, size - seed_bytes)};
}

}  // namespace vmx::fuzz
