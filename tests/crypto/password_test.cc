// Argon2id password hashing: round trips, the PHC format, rehash decisions, known answers from
// RFC 9106 and the reference implementation, and hostile stored strings.
#include <argon2.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "crypto/errc.h"
#include "crypto/password.h"

namespace vmx::crypto {
namespace {

// Low cost so the suite stays fast; libargon2's floor is 8 KiB per lane.
constexpr Argon2Params fast{.memory_kib = 1024, .iterations = 1, .parallelism = 1,
                            .salt_bytes = 16, .hash_bytes = 32};

// From the reference implementation's tests (src/test.c): "password", salt "somesalt".
constexpr std::string_view reference_phc =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";

std::string hash_or_die(std::string_view password, const Argon2Params& params = fast) {
    auto h = hash_password(password, params);
    EXPECT_TRUE(h) << h.error().message();
    return h ? *h : std::string();
}

TEST(Password, HashThenVerify) {
    const std::string h = hash_or_die("correct horse battery staple");
    EXPECT_EQ(verify_password("correct horse battery staple", h), PasswordCheck::match);
    EXPECT_EQ(verify_password("correct horse battery stapld", h), PasswordCheck::mismatch);
    EXPECT_EQ(verify_password("", h), PasswordCheck::mismatch);
    EXPECT_EQ(verify_password(std::string("correct horse battery staple\0", 29), h),
              PasswordCheck::mismatch);
}

TEST(Password, BinaryAndEmptyPasswords) {
    const std::string with_nul("pa\0ss", 5);
    const std::string h = hash_or_die(with_nul);
    EXPECT_EQ(verify_password(with_nul, h), PasswordCheck::match);
    EXPECT_EQ(verify_password("pa", h), PasswordCheck::mismatch);
    const std::string e = hash_or_die("");
    EXPECT_EQ(verify_password("", e), PasswordCheck::match);
    EXPECT_EQ(verify_password(" ", e), PasswordCheck::mismatch);
}

TEST(Password, PhcStringParses) {
    const std::string h = hash_or_die("hunter2");
    const std::string prefix = "$argon2id$v=19$m=1024,t=1,p=1$";
    ASSERT_EQ(h.substr(0, prefix.size()), prefix);
    const std::string rest = h.substr(prefix.size());
    const auto dollar = rest.find('$');
    ASSERT_NE(dollar, std::string::npos);
    EXPECT_EQ(dollar, 22U);                       // 16 salt bytes, unpadded base64
    EXPECT_EQ(rest.size() - dollar - 1, 43U);     // 32 tag bytes
    EXPECT_EQ(rest.find('='), std::string::npos);   // no base64 padding
    // libargon2's own parser agrees with our encoder.
    EXPECT_EQ(argon2id_verify(h.c_str(), "hunter2", 7), ARGON2_OK);
    // A fresh salt every time.
    EXPECT_NE(hash_or_die("hunter2"), h);
}

TEST(Password, NeedsRehash) {
    const std::string h = hash_or_die("pw");
    EXPECT_FALSE(needs_rehash(h, fast));
    auto changed = [&](auto mutate) {
        Argon2Params p = fast;
        mutate(p);
        return needs_rehash(h, p);
    };
    EXPECT_TRUE(changed([](Argon2Params& p) { p.memory_kib = 2048; }));
    EXPECT_TRUE(changed([](Argon2Params& p) { p.iterations = 2; }));
    EXPECT_TRUE(changed([](Argon2Params& p) { p.parallelism = 2; }));
    EXPECT_TRUE(changed([](Argon2Params& p) { p.salt_bytes = 32; }));
    EXPECT_TRUE(changed([](Argon2Params& p) { p.hash_bytes = 64; }));
    // Other algorithms, versions or broken strings always need a new hash.
    std::string argon2i = h;
    argon2i.replace(0, 9, "$argon2i");
    EXPECT_TRUE(needs_rehash(argon2i, fast));
    std::string v16 = h;
    v16.replace(v16.find("v=19"), 4, "v=16");
    EXPECT_TRUE(needs_rehash(v16, fast));
    EXPECT_TRUE(needs_rehash("", fast));
    EXPECT_TRUE(needs_rehash("$2b$10$abcdefghijklmnopqrstuu", fast));
}

// The decoy is a real hash's twin: same parameters, same shape and length, parsed (so checking it
// costs one Argon2id, not a "malformed" shortcut), and no password matches it.
TEST(Password, DecoyHashLooksLikeARealOneAndMatchesNothing) {
    for (const Argon2Params& p : {fast, Argon2Params{.memory_kib = 512, .iterations = 2, .parallelism = 4,
                                                     .salt_bytes = 8, .hash_bytes = 64}}) {
        auto decoy = decoy_password_hash(p);
        ASSERT_TRUE(decoy) << decoy.error().message();
        const std::string real = hash_or_die("pw", p);
        EXPECT_EQ(decoy->size(), real.size());
        auto params_of = [](const std::string& h) { return h.substr(0, h.find('$', h.find("m="))); };
        EXPECT_EQ(params_of(*decoy), params_of(real));
        EXPECT_FALSE(needs_rehash(*decoy, p));
        for (std::string_view guess : {"", "pw", "vaultmx decoy password, never a real one"}) {
            EXPECT_EQ(verify_password(guess, *decoy), PasswordCheck::mismatch);
            EXPECT_EQ(argon2id_verify(decoy->c_str(), guess.data(), guess.size()), ARGON2_VERIFY_MISMATCH);
        }
        EXPECT_NE(*decoy_password_hash(p), *decoy);  // fresh salt and tag
    }
    auto bad = decoy_password_hash(Argon2Params{.memory_kib = 7});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), CryptoErrc::invalid_argument);
}

// RFC 9106 section 5.3: Argon2id with secret and associated data. Proves the way we drive
// libargon2's context API (version, lanes, threads, lengths) gives the standard's answer.
TEST(Password, Rfc9106Argon2idVector) {
    std::array<std::uint8_t, 32> pwd{};
    pwd.fill(0x01);
    std::array<std::uint8_t, 16> salt{};
    salt.fill(0x02);
    std::array<std::uint8_t, 8> secret{};
    secret.fill(0x03);
    std::array<std::uint8_t, 12> ad{};
    ad.fill(0x04);
    std::array<std::uint8_t, 32> tag{};
    argon2_context ctx{};
    ctx.out = tag.data();
    ctx.outlen = tag.size();
    ctx.pwd = pwd.data();
    ctx.pwdlen = pwd.size();
    ctx.salt = salt.data();
    ctx.saltlen = salt.size();
    ctx.secret = secret.data();
    ctx.secretlen = secret.size();
    ctx.ad = ad.data();
    ctx.adlen = ad.size();
    ctx.t_cost = 3;
    ctx.m_cost = 32;
    ctx.lanes = 4;
    ctx.threads = 4;
    ctx.version = ARGON2_VERSION_13;
    ctx.flags = ARGON2_DEFAULT_FLAGS;
    ASSERT_EQ(argon2id_ctx(&ctx), ARGON2_OK);
    const std::array<std::uint8_t, 32> expected = {
        0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
        0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59};
    EXPECT_EQ(tag, expected);
}

// A PHC string produced by the reference implementation: proves our parser maps m, t, p, salt
// and tag onto the library the same way. Also the one test at a production-sized memory cost.
TEST(Password, ReferenceImplementationString) {
    EXPECT_EQ(verify_password("password", reference_phc), PasswordCheck::match);
    EXPECT_EQ(verify_password("passwore", reference_phc), PasswordCheck::mismatch);
    EXPECT_FALSE(needs_rehash(reference_phc, {.memory_kib = 65536, .iterations = 2, .parallelism = 1,
                                              .salt_bytes = 8, .hash_bytes = 32}));
}

TEST(Password, DefaultParametersRoundTrip) {
    const Argon2Params defaults;
    ASSERT_TRUE(validate(defaults));
    const std::string h = hash_or_die("default-cost password", defaults);
    EXPECT_EQ(h.rfind("$argon2id$v=19$m=65536,t=3,p=1$", 0), 0U);
    EXPECT_EQ(verify_password("default-cost password", h), PasswordCheck::match);
    EXPECT_FALSE(needs_rehash(h, defaults));
}

TEST(Password, MalformedStoredStrings) {
    const std::string salt = "c29tZXNhbHQ";
    const std::string tag = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
    const std::string ok_tail = "$" + salt + "$" + tag;
    const std::vector<std::string> bad = {
        "",
        "$",
        "$argon2id$",
        "$argon2id$v=19$m=65536,t=2,p=1",
        "$argon2id$v=19$m=65536,t=2,p=1$" + salt,
        "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$",
        "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + tag.substr(0, 12),   // 9-byte tag
        "$argon2i$v=19$m=65536,t=2,p=1" + ok_tail,
        "$argon2d$v=19$m=65536,t=2,p=1" + ok_tail,
        "$argon2$v=19$m=65536,t=2,p=1" + ok_tail,
        "$argon2id$v=16$m=65536,t=2,p=1" + ok_tail,
        "$argon2id$m=65536,t=2,p=1" + ok_tail,                 // no version: v1.0
        "$argon2id$v=19$m=4194304,t=2,p=1" + ok_tail,          // 4 GiB
        "$argon2id$v=19$m=4294967295,t=2,p=1" + ok_tail,
        "$argon2id$v=19$m=4294967296,t=2,p=1" + ok_tail,       // overflows 32 bits
        "$argon2id$v=19$m=99999999999999999999,t=2,p=1" + ok_tail,
        "$argon2id$v=19$m=65536,t=65,p=1" + ok_tail,
        "$argon2id$v=19$m=65536,t=4294967295,p=1" + ok_tail,
        "$argon2id$v=19$m=65536,t=0,p=1" + ok_tail,
        "$argon2id$v=19$m=65536,t=2,p=65" + ok_tail,
        "$argon2id$v=19$m=65536,t=2,p=0" + ok_tail,
        "$argon2id$v=19$m=7,t=2,p=1" + ok_tail,
        "$argon2id$v=19$m=31,t=2,p=4" + ok_tail,               // under 8 KiB per lane
        "$argon2id$v=19$m=065536,t=2,p=1" + ok_tail,           // leading zero
        "$argon2id$v=19$m=+65536,t=2,p=1" + ok_tail,
        "$argon2id$v=19$m=-1,t=2,p=1" + ok_tail,
        "$argon2id$v=19$t=2,m=65536,p=1" + ok_tail,            // fields out of order
        "$argon2id$v=19$m=65536,t=2,p=1,data=abc" + ok_tail,
        "$ARGON2ID$v=19$m=65536,t=2,p=1" + ok_tail,
        " $argon2id$v=19$m=65536,t=2,p=1" + ok_tail,
        "$argon2id$v=19$m=65536,t=2,p=1" + ok_tail + " ",
        "$argon2id$v=19$m=65536,t=2,p=1" + ok_tail + "$",
        "$argon2id$v=19$m=65536,t=2,p=1" + ok_tail + "=",
        "$argon2id$v=19$m=65536,t=2,p=1$c29t*ZXNhbHQ$" + tag,  // not base64
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$" + tag,  // padding
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHR$" + tag,   // non-zero unused bits
        "$argon2id$v=19$m=65536,t=2,p=1$c29t-XNhbHQ$" + tag,   // url-safe alphabet
        "$argon2id$v=19$m=65536,t=2,p=1$AAAAAA$" + tag,        // 4-byte salt
        "$argon2id$v=19$m=65536,t=2,p=1$" + std::string(88, 'A') + "$" + tag,   // 66-byte salt
        "$argon2id$v=19$m=65536,t=2,p=1$" + salt + "$" + std::string(88, 'A'),  // 66-byte tag
        std::string("$argon2id$v=19$m=65536,t=2,p=1\0", 31) + ok_tail,
        "$argon2id$v=19$m=65536,t=2,p=1$" + salt + std::string(600, 'A') + "$" + tag,   // > 512
    };
    const auto start = std::chrono::steady_clock::now();
    for (const auto& s : bad) {
        EXPECT_EQ(verify_password("password", s), PasswordCheck::malformed) << s;
        EXPECT_TRUE(needs_rehash(s, fast)) << s;
    }
    // Refused before any hashing: even the 4 GiB ones cost nothing.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
}

TEST(Password, EveryTruncationIsRefused) {
    const std::string h = hash_or_die("truncate me");
    for (std::size_t n = 0; n < h.size(); ++n) {
        EXPECT_NE(verify_password("truncate me", h.substr(0, n)), PasswordCheck::match) << n;
    }
    EXPECT_EQ(verify_password("truncate me", h), PasswordCheck::match);
}

TEST(Password, OverlongPasswordIsRefusedWithoutHashing) {
    const std::string longest(password_bytes_max, 'x');
    const std::string h = hash_or_die(longest);
    EXPECT_EQ(verify_password(longest, h), PasswordCheck::match);
    const std::string overlong(password_bytes_max + 1, 'x');
    auto refused = hash_password(overlong, fast);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), CryptoErrc::invalid_argument);
    EXPECT_EQ(verify_password(overlong, h), PasswordCheck::mismatch);
    // A stored string is judged first: a broken one stays "malformed" whatever the password.
    EXPECT_EQ(verify_password(overlong, "$argon2i$"), PasswordCheck::malformed);
    const std::string huge(1 << 20, 'x');
    EXPECT_EQ(verify_password(huge, reference_phc), PasswordCheck::mismatch);
}

TEST(Password, ValidateBounds) {
    EXPECT_TRUE(validate(Argon2Params{}));
    EXPECT_TRUE(validate(fast));
    const std::vector<Argon2Params> bad = {
        {.memory_kib = 7, .iterations = 1, .parallelism = 1, .salt_bytes = 16, .hash_bytes = 32},
        {.memory_kib = 15, .iterations = 1, .parallelism = 2, .salt_bytes = 16, .hash_bytes = 32},
        {.memory_kib = argon2_memory_kib_max + 1, .iterations = 1, .parallelism = 1, .salt_bytes = 16,
         .hash_bytes = 32},
        {.memory_kib = 1024, .iterations = 0, .parallelism = 1, .salt_bytes = 16, .hash_bytes = 32},
        {.memory_kib = 1024, .iterations = 65, .parallelism = 1, .salt_bytes = 16, .hash_bytes = 32},
        {.memory_kib = 1024, .iterations = 1, .parallelism = 0, .salt_bytes = 16, .hash_bytes = 32},
        {.memory_kib = 1024, .iterations = 1, .parallelism = 65, .salt_bytes = 16, .hash_bytes = 32},
        {.memory_kib = 1024, .iterations = 1, .parallelism = 1, .salt_bytes = 7, .hash_bytes = 32},
        {.memory_kib = 1024, .iterations = 1, .parallelism = 1, .salt_bytes = 65, .hash_bytes = 32},
        {.memory_kib = 1024, .iterations = 1, .parallelism = 1, .salt_bytes = 16, .hash_bytes = 15},
        {.memory_kib = 1024, .iterations = 1, .parallelism = 1, .salt_bytes = 16, .hash_bytes = 65},
    };
    for (const auto& p : bad) {
        EXPECT_EQ(validate(p).error(), CryptoErrc::invalid_argument);
        auto h = hash_password("pw", p);
        ASSERT_FALSE(h);
        EXPECT_EQ(h.error(), CryptoErrc::invalid_argument);
    }
}

TEST(Password, OtherParameterShapesRoundTrip) {
    const Argon2Params wide{.memory_kib = 512, .iterations = 2, .parallelism = 4, .salt_bytes = 8,
                            .hash_bytes = 64};
    const std::string h = hash_or_die("lanes", wide);
    EXPECT_EQ(h.rfind("$argon2id$v=19$m=512,t=2,p=4$", 0), 0U);
    EXPECT_EQ(verify_password("lanes", h), PasswordCheck::match);
    EXPECT_EQ(verify_password("lanez", h), PasswordCheck::mismatch);
    EXPECT_FALSE(needs_rehash(h, wide));
    EXPECT_TRUE(needs_rehash(h, fast));
}

// The default shape (one lane, 16-byte salt) is computed by libsodium; every other by libargon2.
// Each must accept what the other wrote, byte for byte the same function.
TEST(Password, BothImplementationsAgree) {
    // libsodium's tag, checked by libargon2 itself.
    const std::string ours = hash_or_die("agree", fast);
    EXPECT_EQ(argon2id_verify(ours.c_str(), "agree", 5), ARGON2_OK);
    EXPECT_NE(argon2id_verify(ours.c_str(), "agreE", 5), ARGON2_OK);
    // libargon2's string, checked on the libsodium path.
    const std::array<std::uint8_t, 16> salt{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    std::array<char, 128> theirs{};
    ASSERT_EQ(argon2id_hash_encoded(2, 1024, 1, "agree", 5, salt.data(), salt.size(), 32, theirs.data(), theirs.size()),
              ARGON2_OK);
    EXPECT_EQ(verify_password("agree", theirs.data()), PasswordCheck::match);
    EXPECT_EQ(verify_password("agreE", theirs.data()), PasswordCheck::mismatch);
    // A 64-byte tag with one lane and a 16-byte salt also goes through libsodium.
    const Argon2Params long_tag{.memory_kib = 1024, .iterations = 1, .parallelism = 1, .salt_bytes = 16, .hash_bytes = 64};
    const std::string h = hash_or_die("long tag", long_tag);
    EXPECT_EQ(argon2id_verify(h.c_str(), "long tag", 8), ARGON2_OK);
    EXPECT_EQ(verify_password("long tag", h), PasswordCheck::match);
}

}  // namespace
}  // namespace vmx::crypto
