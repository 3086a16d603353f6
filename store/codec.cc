#include "store/codec.h"

#include <isa-l/igzip_lib.h>
#include <string.h>

#include <array>
#include <memory>

#include "store/errc.h"

namespace vmx::store {
namespace {

// Deflate cannot expand more than this: a 258-byte match coded in 2 bits.
constexpr std::size_t deflate_ratio_max = 1032;
// Below this, compression cannot win back its header and costs a call.
constexpr std::size_t compress_bytes_min = 64;

// The customer's plaintext in a buffer we are about to drop: wipe it first.
void wipe(std::vector<std::uint8_t>& v) noexcept {
    if (!v.empty()) ::explicit_bzero(v.data(), v.size());
    v.clear();
}

void put_u32(std::uint8_t* out, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint32_t get_u32(const std::uint8_t* in) noexcept {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | in[i];
    return v;
}

// The ISA-L states are about 80 KiB each: one per thread, allocated on first use.
isal_zstream& deflate_state() {
    thread_local std::unique_ptr<isal_zstream> state = std::make_unique<isal_zstream>();
    return *state;
}

inflate_state& inflate_state_of_thread() {
    thread_local std::unique_ptr<inflate_state> state = std::make_unique<inflate_state>();
    return *state;
}

// Compressing a large value is tried only when its first probe_bytes shrink by at least a quarter:
// mail text and HTML shrink to a quarter or a third, while base64 of an already-compressed file
// (most attachments) saves only its encoding overhead (to ~76%) for about 1.5 us per KiB of CPU.
constexpr std::size_t probe_bytes = 4096;

bool deflate_into(std::span<const std::uint8_t> in, std::uint8_t* out, std::size_t out_max, std::size_t& written) {
    isal_zstream& z = deflate_state();
    isal_deflate_stateless_init(&z);
    z.level = 1;
    z.gzip_flag = IGZIP_DEFLATE;
    z.flush = NO_FLUSH;
    z.end_of_stream = 1;
    z.next_in = const_cast<std::uint8_t*>(in.data());  // ISA-L's API is not const-correct
    z.avail_in = static_cast<std::uint32_t>(in.size());
    z.next_out = out;
    z.avail_out = static_cast<std::uint32_t>(out_max);
    const bool ok = isal_deflate_stateless(&z) == COMP_OK && z.avail_in == 0;
    written = z.total_out;
    return ok;
}

// True when the probe of a large value shrinks by less than a quarter.
bool probe_says_skip(std::span<const std::uint8_t> plaintext) {
    if (plaintext.size() < 4 * probe_bytes) return false;
    thread_local std::array<std::uint8_t, probe_bytes> probe_out;
    std::size_t written = 0;
    const bool shrank = deflate_into(plaintext.first(probe_bytes), probe_out.data(), probe_bytes * 3 / 4, written);
    ::explicit_bzero(probe_out.data(), probe_out.size());
    return !shrank;
}

// The deflate form when it is smaller than the raw one; nothing otherwise.
bool try_deflate(std::span<const std::uint8_t> plaintext, std::vector<std::uint8_t>& out) {
    if (plaintext.size() < compress_bytes_min || probe_says_skip(plaintext)) return false;
    // Worth keeping only if header + stream < raw header + plaintext.
    const std::size_t stream_max = plaintext.size() + codec_raw_header_bytes - codec_deflate_header_bytes - 1;
    out.resize(codec_deflate_header_bytes + stream_max);
    std::size_t written = 0;
    if (!deflate_into(plaintext, out.data() + codec_deflate_header_bytes, stream_max, written)) {
        wipe(out);
        return false;
    }
    out[0] = codec_deflate;
    put_u32(out.data() + 1, static_cast<std::uint32_t>(plaintext.size()));
    out.resize(codec_deflate_header_bytes + written);
    return true;
}

Result<std::vector<std::uint8_t>> inflate_exact(std::span<const std::uint8_t> stream, std::size_t length) {
    if (length > codec_value_bytes_max || length > stream.size() * deflate_ratio_max || length == 0)
        return fail(StoreErrc::corrupt);
    std::vector<std::uint8_t> out(length);
    inflate_state& s = inflate_state_of_thread();
    isal_inflate_init(&s);
    s.crc_flag = ISAL_DEFLATE;
    s.next_in = const_cast<std::uint8_t*>(stream.data());
    s.avail_in = static_cast<std::uint32_t>(stream.size());
    s.next_out = out.data();
    s.avail_out = static_cast<std::uint32_t>(length);  // never more than recorded
    const int rc = isal_inflate_stateless(&s);
    if (rc != ISAL_DECOMP_OK || s.total_out != length || s.avail_in != 0) {
        wipe(out);
        return fail(StoreErrc::corrupt);
    }
    return out;
}

}  // namespace

Result<std::vector<std::uint8_t>> encode_value(std::span<const std::uint8_t> plaintext, Compress compress) {
    if (plaintext.size() > codec_value_bytes_max) return fail(StoreErrc::invalid_request);
    std::vector<std::uint8_t> out;
    if (compress == Compress::if_smaller && try_deflate(plaintext, out)) return out;
    out.reserve(codec_raw_header_bytes + plaintext.size());
    out.push_back(codec_raw);
    out.insert(out.end(), plaintext.begin(), plaintext.end());
    return out;
}

Result<std::vector<std::uint8_t>> decode_value(std::span<const std::uint8_t> encoded) {
    if (encoded.empty()) return fail(StoreErrc::corrupt);
    if (encoded[0] == codec_raw) {
        if (encoded.size() - codec_raw_header_bytes > codec_value_bytes_max) return fail(StoreErrc::corrupt);
        return std::vector<std::uint8_t>(encoded.begin() + codec_raw_header_bytes, encoded.end());
    }
    if (encoded[0] == codec_deflate && encoded.size() > codec_deflate_header_bytes)
        return inflate_exact(encoded.subspan(codec_deflate_header_bytes), get_u32(encoded.data() + 1));
    return fail(StoreErrc::corrupt);
}

Result<std::vector<std::uint8_t>> seal_chunk(crypto::StreamSealer& sealer, std::span<const std::uint8_t> plaintext,
                                             Compress compress, bool final) {
    if (plaintext.size() > codec_value_bytes_max) return fail(StoreErrc::invalid_request);
    std::vector<std::uint8_t> deflated;
    if (compress == Compress::if_smaller && try_deflate(plaintext, deflated)) {
        auto sealed = sealer.seal(deflated, final);
        wipe(deflated);
        return sealed;
    }
    // The raw form is the header byte and the plaintext, sealed as two parts: no copy of the data.
    static constexpr std::uint8_t raw_header[codec_raw_header_bytes] = {codec_raw};
    return sealer.seal(raw_header, plaintext, final);
}

Result<std::vector<std::uint8_t>> open_chunk(crypto::StreamOpener& opener, std::span<const std::uint8_t> sealed) {
    auto encoded = opener.open(sealed);
    if (!encoded) return fail(encoded.error());
    auto plain = decode_value(*encoded);
    wipe(*encoded);
    return plain;
}

Result<std::vector<std::uint8_t>> seal_value(const crypto::KeySet& keys, const crypto::Scope& scope,
                                             const crypto::RecordIdentity& identity,
                                             std::span<const std::uint8_t> plaintext, Compress compress) {
    if (plaintext.size() > codec_value_bytes_max) return fail(StoreErrc::invalid_request);
    auto sealer = keys.begin_stream(scope, identity);
    if (!sealer) return fail(sealer.error());
    return seal_chunk(*sealer, plaintext, compress, true);
}

Result<std::vector<std::uint8_t>> open_value(const crypto::KeySet& keys, const crypto::RecordIdentity& identity,
                                             std::span<const std::uint8_t> sealed) {
    auto encoded = keys.open(identity, sealed);
    if (!encoded) return fail(encoded.error());
    auto plain = decode_value(*encoded);
    wipe(*encoded);
    return plain;
}

}  // namespace vmx::store
