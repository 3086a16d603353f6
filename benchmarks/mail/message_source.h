// MessageSource: the bodies vaultmx-bench sends. Each is unique (its own Message-ID and random
// text), shaped like real mail: headers, a text and an HTML part, and above attachment_bytes_min a
// base64 attachment. Sizes come from one fixed size or a weighted distribution file.
// One MessageSource per load thread (it holds that thread's random state); not shared.
// Invariants: CRLF line ends, no line longer than 998 bytes, no line starts with '.', so a body
// goes into DATA without dot-stuffing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vmx::bench {

inline constexpr std::size_t message_bytes_min = 512;
inline constexpr std::size_t message_bytes_max = 64u << 20;   // 64 MiB, past any server's SIZE
inline constexpr std::size_t attachment_bytes_min = 16384;    // below this: text and HTML only
inline constexpr std::size_t size_dist_entries_max = 1000;

// "10k", "1m", "512": bytes, k and m in units of 1024. Errors: invalid_argument, out of range.
Result<std::size_t> parse_size(std::string_view text);

struct SizeWeight {
    std::size_t bytes = 0;
    std::uint32_t weight = 0;
};

// A distribution file: one "SIZE WEIGHT" pair a line ("10k 60"); '#' starts a comment.
// `error` names the line that is wrong.
Result<std::vector<SizeWeight>> parse_size_dist(std::string_view text, std::string& error);

class MessageSource {
public:
    // sizes: at least one entry, weights not all zero. seed: different per thread and per run.
    MessageSource(std::vector<SizeWeight> sizes, std::uint64_t seed, std::string id_suffix);

    // The next size to send, drawn from the distribution.
    std::size_t next_size();
    // A complete message of about `bytes` bytes (within 1% or 200 bytes), ending in CRLF, without
    // the final "." line. message_id receives the Message-ID (with its angle brackets).
    void build(std::size_t bytes, std::string_view from, const std::vector<std::string_view>& to,
               std::string& out, std::string& message_id);

private:
    std::uint64_t random();
    void add_text(std::string& out, std::size_t bytes);
    void add_html(std::string& out, std::size_t bytes);
    void add_base64(std::string& out, std::size_t bytes);
    std::string_view word();

    std::vector<SizeWeight> sizes_;
    std::uint64_t weight_total_ = 0;
    std::uint64_t state_;
    std::uint64_t sequence_ = 0;
    std::string id_suffix_;   // "<thread>.<run>@vaultmx-bench.invalid"
};

}  // namespace vmx::bench
