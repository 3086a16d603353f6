// A value sealed as a STREAM of chunks under one data key (format v2, sealed_record.h): a message body
// in 64 KiB chunks costs one key wrap, one GCM key set-up and one random draw, however many chunks it
// has. A sealer or opener holds the expanded DEK (wiped when it dies) and is used by one thread at a
// time; move it, never copy it. Chunks are sealed and opened strictly in order.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/result.h"
#include "crypto/aead.h"
#include "crypto/sealed_record.h"

namespace vmx::crypto {

// Chunks per stream: the chunk index is 32 bits in the IV and the AAD.
inline constexpr std::uint64_t stream_chunks_max = std::uint64_t{1} << 32;

class StreamSealer {
public:
    // A fresh DEK wrapped for `identity` under `scope_key` (which must be identity.key's).
    // random_failed when the random source fails.
    static Result<StreamSealer> begin(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                      const RecordIdentity& identity);

    // The next chunk's record: the head for the first call, continuations after it. `final` ends the
    // stream. invalid_argument after the final chunk, past stream_chunks_max, or for a chunk over
    // the GCM limit.
    Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> plaintext, bool final);
    // The same with the plaintext given as two parts (a codec header and the data), sealed as their
    // concatenation without copying them together first.
    Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> first, std::span<const std::uint8_t> second,
                                           bool final);

    std::uint64_t chunks_sealed() const noexcept { return next_; }

private:
    StreamSealer(const RecordIdentity& identity, std::span<const std::uint8_t, 32> dek) : identity_(identity), key_(dek) {}

    RecordIdentity identity_;
    AesGcmKey key_;
    std::array<std::uint8_t, sealed_header_bytes - 4> head_fields_{};  // key reference, wrap IV, wrapped DEK, wrap tag
    std::uint64_t next_ = 0;
    bool finished_ = false;
};

class StreamOpener {
public:
    // Unwraps the DEK from a v2 head chunk sealed for `expected` (errors as open(): bad_record for a
    // continuation or v1 record, wrong_identity, authentication_failed). Nothing is opened yet.
    static Result<StreamOpener> begin(std::span<const std::uint8_t, sealed_scope_key_bytes> scope_key,
                                      const RecordIdentity& expected, std::span<const std::uint8_t> head);

    // The plaintext of the next chunk (the head first). authentication_failed for a chunk of another
    // stream or position, bad_record for a malformed one or anything after the final chunk.
    Result<std::vector<std::uint8_t>> open(std::span<const std::uint8_t> record);
    // True once the final chunk has been opened: a reader that runs out of chunks before this is
    // looking at a truncated stream.
    bool finished() const noexcept { return finished_; }
    std::uint64_t chunks_opened() const noexcept { return next_; }

private:
    StreamOpener(const RecordIdentity& identity, std::span<const std::uint8_t, 32> dek) : identity_(identity), key_(dek) {}

    RecordIdentity identity_;
    AesGcmKey key_;
    std::uint64_t next_ = 0;
    bool finished_ = false;
};

}  // namespace vmx::crypto
