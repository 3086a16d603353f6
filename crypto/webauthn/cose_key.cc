// COSE_Key parsing and signature verification (see cose_key.h). OpenSSL's libcrypto (EVP) does the
// curve arithmetic, as for DKIM keys: never include a wolfSSL header here, the two clash. Any
// thread: every handle is owned by this call and OpenSSL's error queue is left as it was found.
#include "crypto/webauthn/cose_key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>

#include "core/c_free.h"
#include "crypto/webauthn/cbor.h"
#include "crypto/openssl_handles.h"
#include "crypto/webauthn/errc.h"

namespace vmx::crypto::webauthn {
namespace {

// COSE labels and values (RFC 9052 7.1, RFC 9053 7.1 and 7.2, IANA COSE registries).
constexpr std::int64_t label_kty = 1;
constexpr std::int64_t label_alg = 3;
constexpr std::int64_t label_crv = -1;
constexpr std::int64_t label_x = -2;
constexpr std::int64_t label_y = -3;
constexpr std::int64_t kty_okp = 1;
constexpr std::int64_t kty_ec2 = 2;
constexpr std::int64_t alg_es256 = -7;
constexpr std::int64_t alg_eddsa = -8;
constexpr std::int64_t crv_p256 = 1;
constexpr std::int64_t crv_ed25519 = 6;

constexpr std::size_t coordinate_bytes = 32;   // P-256 x and y, and an Ed25519 key
constexpr std::size_t ed25519_signature_bytes = 64;
// A DER ECDSA-Sig-Value over P-256: SEQUENCE of two INTEGERs of 1 to 33 bytes each.
constexpr std::size_t es256_signature_bytes_min = 8;
constexpr std::size_t es256_signature_bytes_max = 72;

// Errors OpenSSL queues during one call are dropped at its end, and only those: a caller's own
// pending errors on this thread stay where they were.
class ErrorMark {
public:
    ErrorMark() { ERR_set_mark(); }
    ~ErrorMark() { ERR_pop_to_mark(); }
    ErrorMark(const ErrorMark&) = delete;
    ErrorMark& operator=(const ErrorMark&) = delete;
};

PkeyPtr p256_public_key(std::span<const std::uint8_t> point) {
    // OSSL_PARAM takes mutable pointers; these copies are what it points at.
    std::array<char, 11> group{"prime256v1"};
    std::array<std::uint8_t, 65> encoded{};
    std::copy(point.begin(), point.end(), encoded.begin());
    std::array<OSSL_PARAM, 3> params{
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, encoded.data(), point.size()),
        OSSL_PARAM_construct_end()};
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    // The import decodes the point and refuses one that is not on the curve.
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.data()) != 1)
        return nullptr;
    return PkeyPtr(raw);
}

PkeyPtr public_key(const CoseKey& key) {
    const std::span<const std::uint8_t> raw(key.raw.data(), key.raw_bytes);
    if (key.algorithm == CoseAlgorithm::es256) return p256_public_key(raw);
    return PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
}

std::optional<std::int64_t> integer_at(const cbor::Value& map, std::int64_t label) {
    const cbor::Value* v = map.find(label);
    if (v == nullptr) return std::nullopt;
    return v->integer();
}

bool only_known_labels(const cbor::Value& map) {
    for (std::size_t k = 0; k < map.items.size(); k += 2) {
        const auto label = map.items[k].integer();
        if (!label || (*label != label_kty && *label != label_alg && *label != label_crv && *label != label_x &&
                       *label != label_y))
            return false;
    }
    return true;
}

const cbor::Value* coordinate(const cbor::Value& map, std::int64_t label) {
    const cbor::Value* v = map.find(label);
    if (v == nullptr || v->kind != cbor::Kind::bytes || v->bytes.size() != coordinate_bytes) return nullptr;
    return v;
}

Result<CoseKey> ec2_key(const cbor::Value& map) {
    // y as a bool would be point compression, which WebAuthn keys do not use: refused with the rest.
    const cbor::Value* x = coordinate(map, label_x);
    const cbor::Value* y = coordinate(map, label_y);
    if (x == nullptr || y == nullptr) return fail(WebauthnErrc::malformed);
    CoseKey key;
    key.algorithm = CoseAlgorithm::es256;
    key.raw[0] = 0x04;   // SEC 1 2.3.3: uncompressed
    std::copy(x->bytes.begin(), x->bytes.end(), key.raw.begin() + 1);
    std::copy(y->bytes.begin(), y->bytes.end(), key.raw.begin() + 1 + coordinate_bytes);
    key.raw_bytes = 1 + 2 * coordinate_bytes;
    const ErrorMark mark;
    if (!public_key(key)) return fail(WebauthnErrc::malformed);
    return key;
}

Result<CoseKey> okp_key(const cbor::Value& map) {
    const cbor::Value* x = coordinate(map, label_x);
    if (x == nullptr || map.find(label_y) != nullptr) return fail(WebauthnErrc::malformed);
    CoseKey key;
    key.algorithm = CoseAlgorithm::eddsa;
    std::copy(x->bytes.begin(), x->bytes.end(), key.raw.begin());
    key.raw_bytes = coordinate_bytes;
    const ErrorMark mark;
    if (!public_key(key)) return fail(WebauthnErrc::malformed);   // only if OpenSSL is out of memory
    return key;
}

}  // namespace

Result<CoseKey> parse_cose_key(std::span<const std::uint8_t> cose) {
    auto decoded = cbor::decode(cose);
    if (!decoded) return fail(decoded.error());
    const cbor::Value& map = decoded->value;
    if (decoded->bytes_used != cose.size() || map.kind != cbor::Kind::map || !only_known_labels(map))
        return fail(WebauthnErrc::malformed);
    const auto kty = integer_at(map, label_kty);
    const auto alg = integer_at(map, label_alg);
    const auto crv = integer_at(map, label_crv);
    if (!kty || !alg) return fail(WebauthnErrc::malformed);   // L2 6.5.1: alg is required
    if (*kty == kty_ec2 && *alg == alg_es256 && crv == crv_p256) return ec2_key(map);
    if (*kty == kty_okp && *alg == alg_eddsa && crv == crv_ed25519) return okp_key(map);
    return fail(WebauthnErrc::unsupported_key);
}

Result<void> verify_signature(const CoseKey& key, std::span<const std::uint8_t> message,
                              std::span<const std::uint8_t> signature) {
    const bool es256 = key.algorithm == CoseAlgorithm::es256;
    const bool size_ok = es256 ? signature.size() >= es256_signature_bytes_min &&
                                     signature.size() <= es256_signature_bytes_max
                               : signature.size() == ed25519_signature_bytes;
    if (!size_ok) return fail(WebauthnErrc::bad_signature);
    const ErrorMark mark;
    const PkeyPtr pkey = public_key(key);
    const MdCtxPtr ctx(EVP_MD_CTX_new());
    // Ed25519 is PureEdDSA: no digest of its own (the message is already short and bounded).
    const EVP_MD* md = es256 ? EVP_sha256() : nullptr;
    const bool ok =
        pkey && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, pkey.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
    if (!ok) return fail(WebauthnErrc::bad_signature);
    return {};
}

}  // namespace vmx::crypto::webauthn
