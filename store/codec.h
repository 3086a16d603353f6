// Sealing of one stored value with optional compression: the value's plaintext is prefixed by a
// codec header (inside the sealed plaintext, so the header is authenticated with the data), then
// sealed by crypto::KeySet for the record's identity (a one-chunk stream), or as one chunk of a
// longer stream (a message body). Pure functions; any thread may call them.
//
// Sealed plaintext, version 1:
//   raw:      0x00 || data
//   deflate:  0x01 || original length (u32, little-endian) || raw deflate stream (ISA-L igzip, level 1)
// A deflate form is kept only when it is smaller than the raw form; a value of 16 KiB or more is
// compressed only when its first 4 KiB shrink by at least a quarter (not base64 of a compressed file). open_value() refuses (corrupt)
// any other header byte, an original length above codec_value_bytes_max or above what deflate can
// produce from the stored bytes (1032:1), and a stream that does not inflate to exactly that length:
// it never inflates past the recorded length, so a forged header cannot make it allocate or write
// more than the cap (decompression bombs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.h"
#include "crypto/keyring.h"
#include "crypto/sealed_record.h"
#include "crypto/sealed_stream.h"

namespace vmx::store {

inline constexpr std::size_t codec_value_bytes_max = std::size_t{64} << 20;  // one value's plaintext
inline constexpr std::uint8_t codec_raw = 0x00;
inline constexpr std::uint8_t codec_deflate = 0x01;
inline constexpr std::size_t codec_raw_header_bytes = 1;
inline constexpr std::size_t codec_deflate_header_bytes = 5;

enum class Compress : std::uint8_t { never, if_smaller };

// The sealed record (crypto/sealed_record.h format) of `plaintext` for `identity` under the scope's
// active key. invalid_request for a plaintext over codec_value_bytes_max; crypto errors as KeySet::seal.
Result<std::vector<std::uint8_t>> seal_value(const crypto::KeySet& keys, const crypto::Scope& scope,
                                             const crypto::RecordIdentity& identity,
                                             std::span<const std::uint8_t> plaintext, Compress compress);

// The plaintext of a sealed value. Crypto errors as KeySet::open (authentication_failed for another
// identity or any modified byte); StoreErrc::corrupt for an authenticated but malformed codec form.
Result<std::vector<std::uint8_t>> open_value(const crypto::KeySet& keys, const crypto::RecordIdentity& identity,
                                             std::span<const std::uint8_t> sealed);

// ---- Streams: a message body as chunks under one data key (crypto/sealed_stream.h) ------------
// Each chunk carries its own codec header inside its seal, so each is compressed (or not) on its own.

// The next chunk of `sealer`'s stream; `final` for the last one. invalid_request for a chunk over
// codec_value_bytes_max; crypto errors as StreamSealer::seal.
Result<std::vector<std::uint8_t>> seal_chunk(crypto::StreamSealer& sealer, std::span<const std::uint8_t> plaintext,
                                             Compress compress, bool final);
// The plaintext of the next chunk of `opener`'s stream. Errors as open_value.
Result<std::vector<std::uint8_t>> open_chunk(crypto::StreamOpener& opener, std::span<const std::uint8_t> sealed);

// For tests and tools: the codec form (header || data) of a plaintext, and its inverse.
Result<std::vector<std::uint8_t>> encode_value(std::span<const std::uint8_t> plaintext, Compress compress);
Result<std::vector<std::uint8_t>> decode_value(std::span<const std::uint8_t> encoded);

}  // namespace vmx::store
