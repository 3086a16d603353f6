// crypto/webauthn: the CBOR decoder's bounds, strict base64url, and registration and authentication
// against real vectors (tests/crypto/data/make_webauthn_vectors.py, python3-cryptography): a good
// ceremony for ES256 and Ed25519, each check failing on its own, every truncation, trailing bytes,
// and counters.
#include "crypto/webauthn/webauthn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "crypto/webauthn/cbor.h"
#include "crypto/webauthn/errc.h"
#include "tests/crypto/data/webauthn_vectors.h"

namespace vmx::crypto::webauthn {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes hex(std::string_view text) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::error_code err(WebauthnErrc e) { return make_error_code(e); }

const Bytes& challenge() {
    static const Bytes c = hex(vectors::challenge_hex);
    return c;
}

Relying relying(UserVerification uv = UserVerification::preferred) { return {vectors::origin, vectors::rp_id, uv}; }

const vectors::Registration& registration(std::string_view name) {
    const auto& all = vectors::registrations;
    const auto* it = std::find_if(all.begin(), all.end(), [&](const auto& v) { return v.name == name; });
    EXPECT_NE(it, all.end()) << name;
    return *it;
}

const vectors::Assertion& assertion(std::string_view name) {
    const auto& all = vectors::assertions;
    const auto* it = std::find_if(all.begin(), all.end(), [&](const auto& v) { return v.name == name; });
    EXPECT_NE(it, all.end()) << name;
    return *it;
}

Result<Credential> register_vector(std::string_view name, UserVerification uv = UserVerification::preferred,
                                   const Limits& limits = {}) {
    const auto& v = registration(name);
    return verify_registration(bytes_of(v.client_data), hex(v.attestation_hex), challenge(), relying(uv), limits);
}

Credential credential_of(std::string_view key, std::uint32_t sign_count) {
    Credential c;
    if (key == "es256") c = {hex(vectors::es256_credential_id_hex), hex(vectors::es256_public_key_hex), 0};
    if (key == "es256_other") c = {hex(vectors::es256_other_credential_id_hex), hex(vectors::es256_other_public_key_hex), 0};
    if (key == "ed25519") c = {hex(vectors::ed25519_credential_id_hex), hex(vectors::ed25519_public_key_hex), 0};
    c.sign_count = sign_count;
    return c;
}

Result<std::uint32_t> assert_vector(const Credential& credential, std::string_view name,
                                    UserVerification uv = UserVerification::preferred) {
    const auto& v = assertion(name);
    return verify_assertion(credential, bytes_of(v.client_data), hex(v.authenticator_data_hex), hex(v.signature_hex),
                            challenge(), relying(uv));
}

constexpr std::array<std::string_view, 2> key_types = {"es256", "ed25519"};

// --- CBOR --------------------------------------------------------------------------------------

// The tree's strings are views into the input: callers keep the input alive, so no temporaries.
Result<cbor::Decoded> decode(const Bytes& b, const cbor::Limits& limits = {}) { return cbor::decode(b, limits); }
Result<cbor::Decoded> decode(Bytes&& b, const cbor::Limits& limits = {}) = delete;

TEST(WebauthnCbor, ScalarsAndWhereTheItemEnds) {
    const Bytes hundred = {0x18, 0x64, 0xFF, 0xFF};   // 100, then bytes the caller keeps
    auto d = decode(hundred);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value.kind, cbor::Kind::unsigned_int);
    EXPECT_EQ(d->value.integer(), 100);
    EXPECT_EQ(d->bytes_used, 2U);
    const Bytes minus_hundred = {0x38, 0x63};
    d = decode(minus_hundred);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value.integer(), -100);
    const Bytes lowest = {0x3B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};   // -2^64: held, no int64
    d = decode(lowest);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value.kind, cbor::Kind::negative_int);
    EXPECT_FALSE(d->value.integer());
    const Bytes int64_min = {0x3B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    d = decode(int64_min);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value.integer(), INT64_MIN);
    const Bytes strings = {0x43, 1, 2, 3, 0x63, 'a', 'b', 'c'};
    d = decode(strings);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value.kind, cbor::Kind::bytes);
    EXPECT_EQ(d->value.bytes.data(), strings.data() + 1);   // a view, not a copy
    EXPECT_EQ(d->value.bytes.size(), 3U);
    EXPECT_EQ(d->bytes_used, 4U);
    for (const auto& [byte, kind, number] : {std::tuple{0xF4, cbor::Kind::boolean, 0}, std::tuple{0xF5, cbor::Kind::boolean, 1},
                                             std::tuple{0xF6, cbor::Kind::null, 0}}) {
        const Bytes simple = {static_cast<std::uint8_t>(byte)};
        d = decode(simple);
        ASSERT_TRUE(d);
        EXPECT_EQ(d->value.kind, kind);
        EXPECT_EQ(d->value.number, static_cast<std::uint64_t>(number));
    }
}

TEST(WebauthnCbor, MapsKeyedByIntegersAndText) {
    // {1: 2, -1: "x", "fmt": h'00'}
    const Bytes map = {0xA3, 0x01, 0x02, 0x20, 0x61, 'x', 0x63, 'f', 'm', 't', 0x41, 0x00};
    auto d = decode(map);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->value.pairs(), 3U);
    ASSERT_NE(d->value.find(1), nullptr);
    EXPECT_EQ(d->value.find(1)->integer(), 2);
    ASSERT_NE(d->value.find(-1), nullptr);
    EXPECT_EQ(d->value.find(-1)->text(), "x");
    ASSERT_NE(d->value.find("fmt"), nullptr);
    EXPECT_EQ(d->value.find(2), nullptr);
    EXPECT_EQ(d->value.find("x"), nullptr);
}

TEST(WebauthnCbor, RefusesWhatWebauthnNeverWrites) {
    const std::vector<Bytes> refused = {
        {0x5F, 0x41, 0x00, 0xFF}, {0x7F, 0x61, 'a', 0xFF}, {0x9F, 0x00, 0xFF}, {0xBF, 0x01, 0x02, 0xFF},   // indefinite
        {0xC0, 0x00},                  // a tag
        {0xF9, 0x00, 0x00},            // a half float
        {0xF7}, {0xF8, 0x20},          // undefined, a two-byte simple value
        {0x1C}, {0x1D}, {0x1E},        // reserved additional information
        {0xA1, 0x41, 0x00, 0x00},      // a byte-string key
        {0xA1, 0x80, 0x00},            // an array key
        {0xA2, 0x01, 0x00, 0x01, 0x00},                    // the same integer key twice
        {0xA2, 0x61, 'a', 0x00, 0x61, 'a', 0x01},          // the same text key twice
        {},
    };
    for (const auto& input : refused) {
        auto d = decode(input);
        ASSERT_FALSE(d) << ::testing::PrintToString(input);
        EXPECT_EQ(d.error(), err(WebauthnErrc::malformed)) << ::testing::PrintToString(input);
    }
}

TEST(WebauthnCbor, NestingStopsAtDepthEight) {
    Bytes eight(8, 0x81);   // [[[[[[[[0]]]]]]]]
    eight.push_back(0x00);
    EXPECT_TRUE(decode(eight));
    Bytes nine(9, 0x81);
    nine.push_back(0x00);
    auto d = decode(nine);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), err(WebauthnErrc::too_large));
    Bytes maps;   // {0: {0: ... }} nine deep
    for (int i = 0; i < 9; ++i) maps.insert(maps.end(), {0xA1, 0x00});
    maps.push_back(0x00);
    d = decode(maps);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), err(WebauthnErrc::too_large));
}

TEST(WebauthnCbor, HugeDeclaredLengthsAreRefusedBeforeAnyAllocation) {
    const Bytes max8 = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    for (const int first : {0x5B, 0x7B, 0x9B, 0xBB}) {   // bytes, text, array, map of 2^64-1
        Bytes input = {static_cast<std::uint8_t>(first)};
        input.insert(input.end(), max8.begin(), max8.end());
        auto d = decode(input);
        ASSERT_FALSE(d);
        EXPECT_EQ(d.error(), err(WebauthnErrc::malformed));
    }
    const Bytes short_string = {0x5A, 0x00, 0x01, 0x00, 0x00, 0x00};   // 65536 bytes declared, one there
    auto d = decode(short_string);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), err(WebauthnErrc::malformed));
    Bytes many = {0x99, 0x02, 0x58};   // an array of 600 zeros: there, but over the item budget
    many.resize(many.size() + 600, 0x00);
    d = decode(many);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), err(WebauthnErrc::too_large));
    EXPECT_TRUE(decode(many, {.depth_max = 8, .items_max = 601}));
}

TEST(WebauthnCbor, EveryTruncationOfAnAttestationObjectIsRefused) {
    const Bytes object = hex(registration("es256.reg.packed").attestation_hex);
    ASSERT_TRUE(decode(object));
    EXPECT_EQ(decode(object)->bytes_used, object.size());
    for (std::size_t n = 0; n < object.size(); ++n) {
        auto d = cbor::decode(std::span(object).first(n));
        ASSERT_FALSE(d) << n;
        EXPECT_EQ(d.error(), err(WebauthnErrc::malformed)) << n;
    }
}

// --- base64url ---------------------------------------------------------------------------------

TEST(WebauthnBase64url, Rfc4648VectorsWithoutPadding) {
    const std::vector<std::pair<std::string_view, std::string_view>> cases = {
        {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (const auto& [plain, text] : cases) {
        EXPECT_EQ(base64url(bytes_of(plain)), text);
        const auto back = base64url_decode(text);
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(std::string(back->begin(), back->end()), plain);
    }
    EXPECT_EQ(base64url(Bytes{0xFB, 0xFF}), "-_8");
    EXPECT_EQ(base64url_decode("-_8"), (Bytes{0xFB, 0xFF}));
}

TEST(WebauthnBase64url, DecodingIsStrict) {
    for (const std::string_view text : {"Zg==", "Zm8=", "Zg=", "+w", "/w", "Zm9vY", "Zh", "Zm9", "Zm 9v", "Zm9v\n"})
        EXPECT_FALSE(base64url_decode(text)) << text;
    EXPECT_TRUE(base64url_decode("Zm8"));
    Bytes all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<std::uint8_t>(i * 7));
        EXPECT_EQ(base64url_decode(base64url(all)), all);
    }
}

// --- registration ------------------------------------------------------------------------------

TEST(WebauthnRegistration, GoodForEachKeyType) {
    for (const std::string_view key : key_types) {
        const std::string name = std::string(key) + ".reg.good";
        auto c = register_vector(name, UserVerification::required);
        ASSERT_TRUE(c) << name << ": " << c.error().message();
        const Credential expected = credential_of(key, 0);
        EXPECT_EQ(c->id, expected.id);
        EXPECT_EQ(c->public_key, expected.public_key);
        EXPECT_EQ(c->sign_count, 0U);
    }
}

TEST(WebauthnRegistration, AcceptedVariants) {
    for (const std::string_view key : key_types) {
        // UV clear when only preferred, extensions after the key, a packed statement (not checked),
        // and clientDataJSON with the members and escapes a browser may add.
        for (const std::string_view variant : {"uv_clear", "extensions", "packed", "browser_members"}) {
            const std::string name = std::string(key) + ".reg." + std::string(variant);
            auto c = register_vector(name);
            ASSERT_TRUE(c) << name << ": " << c.error().message();
            EXPECT_EQ(c->public_key, credential_of(key, 0).public_key) << name;
        }
    }
}

TEST(WebauthnRegistration, EachCheckFailsOnItsOwn) {
    struct Case {
        std::string_view variant;
        UserVerification uv;
        WebauthnErrc error;
    };
    const std::vector<Case> cases = {
        {"wrong_type", UserVerification::preferred, WebauthnErrc::wrong_type},
        {"wrong_challenge", UserVerification::preferred, WebauthnErrc::wrong_challenge},
        {"wrong_origin", UserVerification::preferred, WebauthnErrc::wrong_origin},
        {"cross_origin", UserVerification::preferred, WebauthnErrc::wrong_origin},
        {"wrong_rp", UserVerification::preferred, WebauthnErrc::wrong_rp},
        {"up_clear", UserVerification::preferred, WebauthnErrc::user_not_present},
        {"uv_clear", UserVerification::required, WebauthnErrc::user_not_verified},
        {"at_clear", UserVerification::preferred, WebauthnErrc::malformed},
        {"trailing_auth_data", UserVerification::preferred, WebauthnErrc::malformed},
        {"trailing_attestation", UserVerification::preferred, WebauthnErrc::malformed},
        {"indefinite", UserVerification::preferred, WebauthnErrc::malformed},
    };
    for (const std::string_view key : key_types) {
        for (const auto& c : cases) {
            const std::string name = std::string(key) + ".reg." + std::string(c.variant);
            auto r = register_vector(name, c.uv);
            ASSERT_FALSE(r) << name;
            EXPECT_EQ(r.error(), err(c.error)) << name << ": " << r.error().message();
        }
    }
}

TEST(WebauthnRegistration, OnlyEs256AndEd25519Keys) {
    const std::vector<std::pair<std::string_view, WebauthnErrc>> cases = {
        {"es256.reg.rs256", WebauthnErrc::unsupported_key},        // RSASSA-PKCS1-v1_5, alg -257
        {"es256.reg.p384", WebauthnErrc::unsupported_key},         // ES384 on P-384
        {"es256.reg.alg_mismatch", WebauthnErrc::unsupported_key}, // a P-256 key claiming EdDSA
        {"es256.reg.off_curve", WebauthnErrc::malformed},          // y changed: not a curve point
        {"es256.reg.cose_kid", WebauthnErrc::malformed},           // an optional parameter (kid)
        {"es256.reg.long_id", WebauthnErrc::too_large},            // a 1024-byte credential ID
    };
    for (const auto& [name, error] : cases) {
        auto r = register_vector(name);
        ASSERT_FALSE(r) << name;
        EXPECT_EQ(r.error(), err(error)) << name << ": " << r.error().message();
    }
}

TEST(WebauthnRegistration, Limits) {
    const auto& v = registration("es256.reg.packed");
    const Bytes object = hex(v.attestation_hex);
    const std::vector<std::pair<std::string_view, Limits>> tight = {
        {"client data", {.client_data_bytes_max = v.client_data.size() - 1}},
        {"attestation", {.attestation_bytes_max = object.size() - 1}},
        {"authenticator data", {.authenticator_data_bytes_max = 100}},
        {"credential id", {.credential_id_bytes_max = 31}},
        {"public key", {.public_key_bytes_max = 76}},
    };
    for (const auto& [what, limits] : tight) {
        auto r = verify_registration(bytes_of(v.client_data), object, challenge(), relying(), limits);
        ASSERT_FALSE(r) << what;
        EXPECT_EQ(r.error(), err(WebauthnErrc::too_large)) << what;
    }
    // Exactly at each limit is accepted (the ES256 key is 77 bytes, its ID 32).
    EXPECT_TRUE(verify_registration(bytes_of(v.client_data), object, challenge(), relying(),
                                    {.client_data_bytes_max = v.client_data.size(), .attestation_bytes_max = object.size(),
                                     .authenticator_data_bytes_max = 164, .credential_id_bytes_max = 32,
                                     .public_key_bytes_max = 77}));
}

TEST(WebauthnRegistration, EveryTruncationIsRefused) {
    for (const std::string_view key : key_types) {
        const auto& v = registration(std::string(key) + ".reg.extensions");
        const Bytes object = hex(v.attestation_hex);
        const auto cdj = bytes_of(v.client_data);
        for (std::size_t n = 0; n < object.size(); ++n)
            EXPECT_FALSE(verify_registration(cdj, std::span(object).first(n), challenge(), relying())) << key << " " << n;
        for (std::size_t n = 0; n < cdj.size(); ++n)
            EXPECT_FALSE(verify_registration(cdj.first(n), object, challenge(), relying())) << key << " " << n;
    }
}

TEST(WebauthnRegistration, RefusesAShortChallengeAndAnEmptyRelyingParty) {
    const auto& v = registration("es256.reg.good");
    const Bytes object = hex(v.attestation_hex);
    const Bytes short_challenge(challenge().begin(), challenge().begin() + challenge_bytes_min - 1);
    auto r = verify_registration(bytes_of(v.client_data), object, short_challenge, relying());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::wrong_challenge));
    r = verify_registration(bytes_of(v.client_data), object, challenge(), {"", vectors::rp_id});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::wrong_origin));
    r = verify_registration(bytes_of(v.client_data), object, challenge(), {vectors::origin, ""});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::wrong_rp));
    for (const std::string_view text : {"", "[]", "{}", "{\"type\":1}", "not json", "{\"type\":\"webauthn.create\"}"}) {
        r = verify_registration(bytes_of(text), object, challenge(), relying());
        ASSERT_FALSE(r) << text;
        EXPECT_EQ(r.error(), err(WebauthnErrc::malformed)) << text;
    }
}

// --- authentication ----------------------------------------------------------------------------

TEST(WebauthnAssertion, GoodForEachKeyTypeGivesTheNewCount) {
    for (const std::string_view key : key_types) {
        for (const std::uint32_t stored : {0U, 4U}) {
            auto count = assert_vector(credential_of(key, stored), std::string(key) + ".get.good", UserVerification::required);
            ASSERT_TRUE(count) << key << ": " << count.error().message();
            EXPECT_EQ(*count, 5U);
        }
        auto count = assert_vector(credential_of(key, 6), std::string(key) + ".get.extensions");
        ASSERT_TRUE(count) << key << ": " << count.error().message();
        EXPECT_EQ(*count, 7U);
        EXPECT_TRUE(assert_vector(credential_of(key, 0), std::string(key) + ".get.uv_clear"));   // UV preferred
    }
}

TEST(WebauthnAssertion, SignCounter) {
    for (const std::string_view key : key_types) {
        const std::string good = std::string(key) + ".get.good";         // count 5
        const std::string zero = std::string(key) + ".get.zero_count";   // count 0
        for (const std::uint32_t stored : {5U, 6U, UINT32_MAX}) {
            auto r = assert_vector(credential_of(key, stored), good);
            ASSERT_FALSE(r) << key << " " << stored;
            EXPECT_EQ(r.error(), err(WebauthnErrc::counter_regressed));
        }
        auto r = assert_vector(credential_of(key, 0), zero);   // no counter kept: 0/0 is fine
        ASSERT_TRUE(r) << key;
        EXPECT_EQ(*r, 0U);
        r = assert_vector(credential_of(key, 3), zero);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), err(WebauthnErrc::counter_regressed));
    }
}

TEST(WebauthnAssertion, EachCheckFailsOnItsOwn) {
    const std::vector<std::tuple<std::string_view, UserVerification, WebauthnErrc>> cases = {
        {"wrong_type", UserVerification::preferred, WebauthnErrc::wrong_type},
        {"wrong_challenge", UserVerification::preferred, WebauthnErrc::wrong_challenge},
        {"wrong_origin", UserVerification::preferred, WebauthnErrc::wrong_origin},
        {"cross_origin", UserVerification::preferred, WebauthnErrc::wrong_origin},
        {"wrong_rp", UserVerification::preferred, WebauthnErrc::wrong_rp},
        {"up_clear", UserVerification::preferred, WebauthnErrc::user_not_present},
        {"uv_clear", UserVerification::required, WebauthnErrc::user_not_verified},
        {"trailing", UserVerification::preferred, WebauthnErrc::malformed},
        {"at_set", UserVerification::preferred, WebauthnErrc::malformed},
    };
    for (const std::string_view key : key_types) {
        for (const auto& [variant, uv, error] : cases) {
            const std::string name = std::string(key) + ".get." + std::string(variant);
            auto r = assert_vector(credential_of(key, 0), name, uv);
            ASSERT_FALSE(r) << name;
            EXPECT_EQ(r.error(), err(error)) << name << ": " << r.error().message();
        }
    }
}

TEST(WebauthnAssertion, AnyChangeBreaksTheSignature) {
    for (const std::string_view key : key_types) {
        const auto& v = assertion(std::string(key) + ".get.good");
        const Credential credential = credential_of(key, 0);
        const Bytes data = hex(v.authenticator_data_hex);
        const Bytes signature = hex(v.signature_hex);
        const auto cdj = bytes_of(v.client_data);
        const auto check = [&](std::span<const std::uint8_t> c, std::span<const std::uint8_t> d,
                               std::span<const std::uint8_t> s, const std::string& what) {
            auto r = verify_assertion(credential, c, d, s, challenge(), relying());
            ASSERT_FALSE(r) << key << " " << what;
            EXPECT_EQ(r.error(), err(WebauthnErrc::bad_signature)) << key << " " << what;
        };
        for (std::size_t i = 0; i < signature.size(); ++i) {
            Bytes flipped = signature;
            flipped[i] ^= 0x01;
            check(cdj, data, flipped, "signature byte " + std::to_string(i));
            check(cdj, data, std::span(signature).first(i), "signature cut to " + std::to_string(i));
        }
        Bytes longer = signature;
        longer.push_back(0x00);   // DER or raw: nothing may follow the signature
        check(cdj, data, longer, "signature with a byte after it");
        Bytes counted = data;
        counted.back() ^= 0x01;   // the sign count's last byte
        check(cdj, counted, signature, "sign count");
        Bytes uv_dropped = data;
        uv_dropped[32] = 0x01;   // UP only: the authenticator said UV
        check(cdj, uv_dropped, signature, "flags");
        const std::string spaced = std::string(v.client_data) + " ";   // same JSON, other bytes
        check(bytes_of(spaced), data, signature, "client data");
    }
}

TEST(WebauthnAssertion, WrongKeyAndUnusableStoredKeys) {
    auto r = assert_vector(credential_of("es256_other", 0), "es256.get.good");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::bad_signature));
    r = assert_vector(credential_of("ed25519", 0), "es256.get.good");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::bad_signature));
    r = assert_vector(credential_of("es256", 0), "ed25519.get.good");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::bad_signature));
    Credential rsa = credential_of("es256", 0);
    rsa.public_key = {0xA4, 0x01, 0x03, 0x03, 0x39, 0x01, 0x00, 0x20, 0x41, 0x01, 0x21, 0x43, 0x01, 0x00, 0x01};
    r = assert_vector(rsa, "es256.get.good");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::unsupported_key));
    Credential trailing = credential_of("es256", 0);
    trailing.public_key.push_back(0x00);
    r = assert_vector(trailing, "es256.get.good");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), err(WebauthnErrc::malformed));
}

TEST(WebauthnAssertion, EveryTruncationIsRefused) {
    for (const std::string_view key : key_types) {
        const auto& v = assertion(std::string(key) + ".get.extensions");
        const Credential credential = credential_of(key, 0);
        const Bytes data = hex(v.authenticator_data_hex);
        const Bytes signature = hex(v.signature_hex);
        const auto cdj = bytes_of(v.client_data);
        ASSERT_TRUE(verify_assertion(credential, cdj, data, signature, challenge(), relying()));
        for (std::size_t n = 0; n < data.size(); ++n)
            EXPECT_FALSE(verify_assertion(credential, cdj, std::span(data).first(n), signature, challenge(), relying()))
                << key << " " << n;
        for (std::size_t n = 0; n < cdj.size(); ++n)
            EXPECT_FALSE(verify_assertion(credential, cdj.first(n), data, signature, challenge(), relying())) << key << " " << n;
    }
}

TEST(WebauthnAssertion, ErrorsHaveTheirOwnCategory) {
    const std::error_code e = err(WebauthnErrc::counter_regressed);
    EXPECT_STREQ(e.category().name(), "vmx.webauthn");
    EXPECT_EQ(e.message(), "sign counter did not increase");
}

}  // namespace
}  // namespace vmx::crypto::webauthn
