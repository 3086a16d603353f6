// Fuzz target: WebAuthn (crypto/webauthn/): the CBOR decoder, registration and authentication.
// Input: byte 0 picks the mode (mod 4: 0 CBOR, 1 registration, 2 an assertion for the ES256
// credential, 3 for the Ed25519 one); byte 1 holds options (bit 0: UV required; bits 1-2: the stored
// sign count, one of 0, 4, 5, 2^32-1); the rest is the parts (clientDataJSON, then the attestation
// object, or the authenticator data and the signature), each but the last after a 2-byte big-endian
// length, the last taking what is left. Seeds: tests/crypto/data/make_webauthn_vectors.py, whose
// credentials, challenge and origin are the ones used here.
// Checks: CBOR items are self-delimiting (the item alone decodes the same, one byte less does not
// decode), tighter limits only refuse, the tree stays within its limits and re-encodes to an equal
// tree; what registers is within the limits, registers without UV if it did with it, and has a key
// an assertion can be checked against; an accepted assertion's count grew (or stayed 0/0), it is
// accepted without UV too, and a changed signature is refused; every error is a WebauthnErrc.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/assert.h"
#include "crypto/webauthn/cbor.h"
#include "crypto/webauthn/errc.h"
#include "crypto/webauthn/webauthn.h"
#include "tests/crypto/data/webauthn_vectors.h"

namespace {

using namespace vmx::crypto::webauthn;
using Bytes = std::vector<std::uint8_t>;
using Span = std::span<const std::uint8_t>;

Bytes hex(std::string_view text) {
    const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    Bytes out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(nibble(text[i]) << 4 | nibble(text[i + 1])));
    return out;
}

Span bytes_of(std::string_view text) { return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}; }

const Bytes& challenge() {
    static const Bytes c = hex(vectors::challenge_hex);
    return c;
}

Relying relying(UserVerification uv) { return {vectors::origin, vectors::rp_id, uv}; }

Span take_part(Span& rest) {
    if (rest.size() < 2) return rest = {};
    const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(rest[0] << 8 | rest[1]), rest.size() - 2);
    const Span part = rest.subspan(2, n);
    rest = rest.subspan(2 + n);
    return part;
}

void check_error(const std::error_code& e) { VMX_ASSERT(e.category() == webauthn_category() && e.value() > 0); }

// --- CBOR ----------------------------------------------------------------------------------------

void encode_head(Bytes& out, std::uint8_t major, std::uint64_t n) {
    const auto first = static_cast<std::uint8_t>(major << 5);
    if (n < 24) return out.push_back(static_cast<std::uint8_t>(first | n));
    const int bytes = n <= 0xFF ? 1 : n <= 0xFFFF ? 2 : n <= 0xFFFFFFFF ? 4 : 8;
    out.push_back(static_cast<std::uint8_t>(first | (bytes == 1 ? 24 : bytes == 2 ? 25 : bytes == 4 ? 26 : 27)));
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
}

void encode(Bytes& out, const cbor::Value& v) {
    switch (v.kind) {
        case cbor::Kind::unsigned_int: return encode_head(out, 0, v.number);
        case cbor::Kind::negative_int: return encode_head(out, 1, v.number);
        case cbor::Kind::bytes:
        case cbor::Kind::text:
            encode_head(out, v.kind == cbor::Kind::bytes ? 2 : 3, v.bytes.size());
            out.insert(out.end(), v.bytes.begin(), v.bytes.end());
            return;
        case cbor::Kind::array:
        case cbor::Kind::map:
            encode_head(out, v.kind == cbor::Kind::array ? 4 : 5, v.kind == cbor::Kind::array ? v.items.size() : v.pairs());
            for (const auto& item : v.items) encode(out, item);
            return;
        case cbor::Kind::boolean: return out.push_back(v.number != 0 ? 0xF5 : 0xF4);
        case cbor::Kind::null: return out.push_back(0xF6);
    }
}

bool same_tree(const cbor::Value& a, const cbor::Value& b) {
    if (a.kind != b.kind || a.number != b.number || a.items.size() != b.items.size()) return false;
    if (!std::equal(a.bytes.begin(), a.bytes.end(), b.bytes.begin(), b.bytes.end())) return false;
    for (std::size_t i = 0; i < a.items.size(); ++i)
        if (!same_tree(a.items[i], b.items[i])) return false;
    return true;
}

// Values in the tree, and the deepest container nesting; every view lies inside `input`.
std::size_t measure(const cbor::Value& v, Span input, std::size_t depth, std::size_t& deepest) {
    if (!v.bytes.empty()) VMX_ASSERT(v.bytes.data() >= input.data() && v.bytes.data() + v.bytes.size() <= input.data() + input.size());
    const bool container = v.kind == cbor::Kind::array || v.kind == cbor::Kind::map;
    if (container) deepest = std::max(deepest, depth + 1);
    if (v.kind == cbor::Kind::map) VMX_ASSERT(v.items.size() % 2 == 0);
    std::size_t count = 1;
    for (const auto& item : v.items) count += measure(item, input, depth + 1, deepest);
    return count;
}

void check_cbor(Span input) {
    const cbor::Limits limits;
    auto d = cbor::decode(input, limits);
    auto tight = cbor::decode(input, {.depth_max = 2, .items_max = 8});
    if (tight) VMX_ASSERT(d && d->bytes_used == tight->bytes_used && same_tree(d->value, tight->value));
    if (!d) return check_error(d.error());
    VMX_ASSERT(d->bytes_used >= 1 && d->bytes_used <= input.size());
    std::size_t deepest = 0;
    VMX_ASSERT(measure(d->value, input, 0, deepest) <= limits.items_max && deepest <= limits.depth_max);
    const auto alone = cbor::decode(input.first(d->bytes_used));
    VMX_ASSERT(alone && alone->bytes_used == d->bytes_used);
    VMX_ASSERT(!cbor::decode(input.first(d->bytes_used - 1)));
    Bytes encoded;
    encode(encoded, d->value);
    const auto back = cbor::decode(encoded);
    VMX_ASSERT(back && back->bytes_used == encoded.size() && same_tree(back->value, d->value));
}

// --- ceremonies ----------------------------------------------------------------------------------

void check_registration(Span client_data, Span attestation) {
    auto required = verify_registration(client_data, attestation, challenge(), relying(UserVerification::required));
    auto preferred = verify_registration(client_data, attestation, challenge(), relying(UserVerification::preferred));
    if (required) VMX_ASSERT(preferred && preferred->id == required->id && preferred->public_key == required->public_key);
    if (!preferred) return check_error(preferred.error());
    const Limits limits;
    VMX_ASSERT(!preferred->id.empty() && preferred->id.size() <= limits.credential_id_bytes_max);
    VMX_ASSERT(preferred->public_key.size() <= limits.public_key_bytes_max);
    // The stored key parses: a good ceremony with a missing signature fails at the signature.
    const auto& get = vectors::assertions[0];
    static const Bytes get_data = hex(get.authenticator_data_hex);
    Credential credential = *preferred;
    credential.sign_count = 0;
    auto r = verify_assertion(credential, bytes_of(get.client_data), get_data, {}, challenge(),
                              relying(UserVerification::preferred));
    VMX_ASSERT(!r && r.error() == make_error_code(WebauthnErrc::bad_signature));
}

const Credential& credential_for(bool es256) {
    static const Credential es{hex(vectors::es256_credential_id_hex), hex(vectors::es256_public_key_hex), 0};
    static const Credential ed{hex(vectors::ed25519_credential_id_hex), hex(vectors::ed25519_public_key_hex), 0};
    return es256 ? es : ed;
}

void check_assertion(bool es256, std::uint8_t options, Span client_data, Span authenticator_data, Span signature) {
    constexpr std::uint32_t counts[] = {0, 4, 5, UINT32_MAX};
    Credential credential = credential_for(es256);
    credential.sign_count = counts[(options >> 1) & 3];
    const auto uv = (options & 1) != 0 ? UserVerification::required : UserVerification::preferred;
    auto r = verify_assertion(credential, client_data, authenticator_data, signature, challenge(), relying(uv));
    if (!r) return check_error(r.error());
    VMX_ASSERT(*r > credential.sign_count || (*r == 0 && credential.sign_count == 0));
    if (uv == UserVerification::required)
        VMX_ASSERT(verify_assertion(credential, client_data, authenticator_data, signature, challenge(),
                                    relying(UserVerification::preferred)));
    Bytes changed(signature.begin(), signature.end());
    changed.back() ^= 0x01;
    auto again = verify_assertion(credential, client_data, authenticator_data, changed, challenge(), relying(uv));
    VMX_ASSERT(!again && again.error() == make_error_code(WebauthnErrc::bad_signature));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::uint8_t mode = data[0] % 4;
    const std::uint8_t options = data[1];
    Span rest(data + 2, size - 2);
    if (mode == 0) {
        check_cbor(rest);
        return 0;
    }
    const Span client_data = take_part(rest);
    if (mode == 1) {
        check_registration(client_data, rest);
        return 0;
    }
    const Span authenticator_data = take_part(rest);
    check_assertion(mode == 2, options, client_data, authenticator_data, rest);
    return 0;
}
