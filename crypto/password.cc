// Argon2id password hashing: a strict PHC-string parser and encoder of our own around two
// implementations of the same function (RFC 9106): libsodium's, which is about 2.5 times faster on
// x86-64 (SIMD) than the Debian build of libargon2 and takes one lane and a 16-byte salt (the
// defaults), and libargon2's context API for every other parameter set. Both give the same tag, so
// a stored string verifies whichever wrote it. Stateless; any thread. Neither library ever sees
// parameters that did not pass validate(), so a stored string cannot ask for more memory or passes
// than the limits in password.h.
#include "crypto/password.h"

#include <argon2.h>
#include <sodium.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>

#include "crypto/errc.h"
#include "crypto/random.h"

namespace vmx::crypto {
namespace {

constexpr std::string_view phc_prefix = "$argon2id$v=19$";

struct ParsedHash {
    Argon2Params params;
    std::array<std::uint8_t, argon2_salt_bytes_max> salt{};
    std::array<std::uint8_t, argon2_hash_bytes_max> tag{};
};

// Wipes a buffer on scope exit; explicit_bzero is not optimised away like a dead memset.
template <class T>
struct WipeOnExit {
    T& buffer;
    ~WipeOnExit() { explicit_bzero(buffer.data(), buffer.size()); }
};


// --- base64 as PHC uses it: standard alphabet, no padding, canonical (unused bits zero) ---

constexpr std::string_view b64_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void b64_append(std::string& out, std::span<const std::uint8_t> in) {
    std::uint32_t acc = 0;
    unsigned bits = 0;
    for (const std::uint8_t byte : in) {
        acc = (acc << 8) | byte;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(b64_alphabet[(acc >> bits) & 0x3F]);
        }
    }
    if (bits > 0) out.push_back(b64_alphabet[(acc << (6 - bits)) & 0x3F]);
}

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Decodes into `out`; the decoded length, or nullopt for a bad character, an impossible length,
// non-zero leftover bits or more bytes than `out` holds.
std::optional<std::size_t> b64_decode(std::string_view in, std::span<std::uint8_t> out) {
    if (in.size() % 4 == 1) return std::nullopt;
    std::uint32_t acc = 0;
    unsigned bits = 0;
    std::size_t n = 0;
    for (const char c : in) {
        const int v = b64_value(c);
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == out.size()) return std::nullopt;
            out[n++] = static_cast<std::uint8_t>(acc >> bits);
        }
    }
    if ((acc & ((1U << bits) - 1)) != 0) return std::nullopt;
    return n;
}

// --- PHC string ---

// Consumes a decimal without sign or leading zeros, at most 10 digits, that fits 32 bits.
std::optional<std::uint32_t> take_u32(std::string_view& s) {
    std::size_t i = 0;
    std::uint64_t v = 0;
    while (i < s.size() && i < 11 && s[i] >= '0' && s[i] <= '9') {
        v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
        ++i;
    }
    if (i == 0 || i > 10 || v > UINT32_MAX || (s[0] == '0' && i > 1)) return std::nullopt;
    s.remove_prefix(i);
    return static_cast<std::uint32_t>(v);
}

bool take(std::string_view& s, std::string_view literal) {
    if (!s.starts_with(literal)) return false;
    s.remove_prefix(literal.size());
    return true;
}

std::optional<ParsedHash> parse_phc(std::string_view s) {
    if (s.size() > password_encoded_bytes_max || !take(s, phc_prefix)) return std::nullopt;
    ParsedHash h;
    std::optional<std::uint32_t> m, t, p;
    if (!take(s, "m=") || !(m = take_u32(s)) || !take(s, ",t=") || !(t = take_u32(s)) ||
        !take(s, ",p=") || !(p = take_u32(s)) || !take(s, "$")) {
        return std::nullopt;
    }
    const std::size_t dollar = s.find('$');
    if (dollar == std::string_view::npos) return std::nullopt;
    const auto salt_len = b64_decode(s.substr(0, dollar), h.salt);
    const auto tag_len = b64_decode(s.substr(dollar + 1), h.tag);
    if (!salt_len || !tag_len) return std::nullopt;
    h.params = {.memory_kib = *m, .iterations = *t, .parallelism = *p,
                .salt_bytes = static_cast<std::uint32_t>(*salt_len),
                .hash_bytes = static_cast<std::uint32_t>(*tag_len)};
    if (!validate(h.params)) return std::nullopt;
    return h;
}

std::string encode_phc(const Argon2Params& params, std::span<const std::uint8_t> salt,
                       std::span<const std::uint8_t> tag) {
    std::string out(phc_prefix);
    out += "m=" + std::to_string(params.memory_kib) + ",t=" + std::to_string(params.iterations) +
           ",p=" + std::to_string(params.parallelism) + "$";
    b64_append(out, salt);
    out += '$';
    b64_append(out, tag);
    return out;
}

// A libargon2 context over caller-owned buffers. The password is passed in place: without
// ARGON2_FLAG_CLEAR_PASSWORD libargon2 only reads it, so the const_cast never leads to a write,
// and no copy of the password exists to wipe.
argon2_context make_context(std::string_view password, const Argon2Params& params,
                            std::span<std::uint8_t> salt, std::span<std::uint8_t> out) {
    argon2_context ctx{};
    ctx.out = out.data();
    ctx.outlen = params.hash_bytes;
    ctx.pwd = reinterpret_cast<std::uint8_t*>(const_cast<char*>(password.data()));
    ctx.pwdlen = static_cast<std::uint32_t>(password.size());
    ctx.salt = salt.data();
    ctx.saltlen = params.salt_bytes;
    ctx.t_cost = params.iterations;
    ctx.m_cost = params.memory_kib;
    ctx.lanes = params.parallelism;
    ctx.threads = params.parallelism;
    ctx.version = ARGON2_VERSION_13;
    ctx.flags = ARGON2_DEFAULT_FLAGS;
    return ctx;
}

// What libsodium's crypto_pwhash_argon2id takes: one lane, its fixed salt size, a tag of 16 bytes or
// more (all within validate()'s limits otherwise).
bool sodium_takes(const Argon2Params& params) {
    return params.parallelism == 1 && params.salt_bytes == crypto_pwhash_argon2id_SALTBYTES &&
           params.hash_bytes >= crypto_pwhash_argon2id_BYTES_MIN;
}

// The Argon2id tag of `password` into out[0, hash_bytes). params passed validate().
bool compute_tag(std::string_view password, const Argon2Params& params, std::span<std::uint8_t> salt,
                 std::span<std::uint8_t> out) {
    if (sodium_takes(params) && sodium_init() >= 0) {
        const char* text = password.empty() ? "" : password.data();  // never null: libsodium requires a pointer
        return crypto_pwhash_argon2id(out.data(), params.hash_bytes, text, password.size(), salt.data(),
                                      params.iterations, std::size_t{params.memory_kib} * 1024,
                                      crypto_pwhash_ALG_ARGON2ID13) == 0;
    }
    argon2_context ctx = make_context(password, params, salt, out);
    return argon2id_ctx(&ctx) == ARGON2_OK;
}

}  // namespace

Result<void> validate(const Argon2Params& p) {
    const bool ok = p.parallelism >= 1 && p.parallelism <= argon2_parallelism_max &&
                    p.memory_kib >= 8 * p.parallelism && p.memory_kib <= argon2_memory_kib_max &&
                    p.iterations >= 1 && p.iterations <= argon2_iterations_max &&
                    p.salt_bytes >= argon2_salt_bytes_min && p.salt_bytes <= argon2_salt_bytes_max &&
                    p.hash_bytes >= argon2_hash_bytes_min && p.hash_bytes <= argon2_hash_bytes_max;
    if (!ok) return fail(CryptoErrc::invalid_argument);
    return {};
}

Result<std::string> hash_password(std::string_view password, const Argon2Params& params) {
    if (auto v = validate(params); !v) return fail(v.error());
    if (password.size() > password_bytes_max) return fail(CryptoErrc::invalid_argument);
    std::array<std::uint8_t, argon2_salt_bytes_max> salt{};
    std::array<std::uint8_t, argon2_hash_bytes_max> tag{};
    const WipeOnExit<decltype(tag)> wipe_tag{tag};
    const std::span<std::uint8_t> salt_used(salt.data(), params.salt_bytes);
    if (auto r = random_bytes(salt_used); !r) return fail(r.error());
    if (!compute_tag(password, params, salt_used, tag)) return fail(CryptoErrc::password_hash_failed);
    return encode_phc(params, salt_used, std::span(tag.data(), params.hash_bytes));
}

Result<std::string> decoy_password_hash(const Argon2Params& params) {
    if (auto v = validate(params); !v) return fail(v.error());
    std::array<std::uint8_t, argon2_salt_bytes_max> salt{};
    std::array<std::uint8_t, argon2_hash_bytes_max> tag{};
    const std::span<std::uint8_t> salt_used(salt.data(), params.salt_bytes);
    const std::span<std::uint8_t> tag_used(tag.data(), params.hash_bytes);
    if (auto r = random_bytes(salt_used); !r) return fail(r.error());
    if (auto r = random_bytes(tag_used); !r) return fail(r.error());
    return encode_phc(params, salt_used, tag_used);
}

PasswordCheck verify_password(std::string_view password, std::string_view encoded) {
    auto parsed = parse_phc(encoded);
    if (!parsed) return PasswordCheck::malformed;
    if (password.size() > password_bytes_max) return PasswordCheck::mismatch;
    std::array<std::uint8_t, argon2_hash_bytes_max> computed{};
    const WipeOnExit<decltype(computed)> wipe_computed{computed};
    if (!compute_tag(password, parsed->params, parsed->salt, computed)) return PasswordCheck::mismatch;  // fails closed
    // sodium_memcmp compares in constant time over the whole tag: no early exit on the first byte.
    const bool same = sodium_memcmp(computed.data(), parsed->tag.data(), parsed->params.hash_bytes) == 0;
    return same ? PasswordCheck::match : PasswordCheck::mismatch;
}

bool needs_rehash(std::string_view encoded, const Argon2Params& current) {
    VMX_ASSERT(validate(current));
    const auto parsed = parse_phc(encoded);
    return !parsed || parsed->params != current;
}

}  // namespace vmx::crypto
