// Audit entries: redaction, limits, the canonical encoding and the chain hash (see audit_entry.h).
#include "appliance/audit/entry.h"

#include "core/hex_text.h"

// wolfSSL's options must come before any other wolfSSL header (PLATFORM.md).
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "store/errc.h"

namespace vmx {
namespace {

// Options whose next word is a secret. Exact names: a flag like --password-stdin must not
// swallow the address after it.
constexpr std::array<std::string_view, 10> secret_options{"--password",   "--passwd",      "--new-password",
                                                          "--app-password", "--secret",      "--totp-secret",
                                                          "--token",      "--code",        "--otp",
                                                          "--master-key"};
// In "--name=value" a name containing one of these hides the value: a typo or a future option
// must not leak a password just because it is not in the list above.
constexpr std::array<std::string_view, 5> secret_name_parts{"pass", "secret", "token", "key", "otp"};

constexpr std::string_view ellipsis = "...";

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool is_secret_name(std::string_view name) {
    if (is_secret_option(name)) return true;
    const std::string l = lower(name);
    return std::any_of(secret_name_parts.begin(), secret_name_parts.end(),
                       [&](std::string_view part) { return l.find(part) != std::string::npos; });
}

// `s` cut to at most `bytes_max` bytes, ending with "..." when cut; never splits a UTF-8 sequence.
std::string clamp(std::string s, std::size_t bytes_max) {
    if (s.size() <= bytes_max) return s;
    std::size_t keep = bytes_max - ellipsis.size();
    while (keep > 0 && (static_cast<unsigned char>(s[keep]) & 0xC0) == 0x80) --keep;
    s.resize(keep);
    s += ellipsis;
    return s;
}

class Writer {
public:
    void u8(std::uint8_t v) { out_.push_back(v); }
    void le(std::uint64_t v, int bytes) {
        for (int i = 0; i < bytes; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void raw(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void str(std::string_view s, int len_bytes) {
        le(s.size(), len_bytes);
        out_.insert(out_.end(), s.begin(), s.end());
    }
    std::vector<std::uint8_t> take() { return std::move(out_); }

private:
    std::vector<std::uint8_t> out_;
};

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
    bool le(std::uint64_t& v, int bytes) {
        if (!have(static_cast<std::size_t>(bytes))) return false;
        v = 0;
        for (int i = 0; i < bytes; ++i) v |= std::uint64_t{in_[pos_++]} << (8 * i);
        return true;
    }
    bool raw(std::span<std::uint8_t> out) {
        if (!have(out.size())) return false;
        std::copy_n(in_.begin() + static_cast<std::ptrdiff_t>(pos_), out.size(), out.begin());
        pos_ += out.size();
        return true;
    }
    bool str(std::string& s, int len_bytes, std::size_t bytes_max) {
        std::uint64_t n = 0;
        if (!le(n, len_bytes) || n > bytes_max || !have(n)) return false;
        const auto* p = reinterpret_cast<const char*>(in_.data() + pos_);
        s.assign(p, n);
        pos_ += n;
        return true;
    }
    bool done() const noexcept { return pos_ == in_.size(); }

private:
    bool have(std::uint64_t n) const noexcept { return n <= in_.size() - pos_; }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
};

bool fields_within_limits(const AuditEntry& e) {
    if (e.command.empty() || e.command.size() > audit_command_bytes_max) return false;
    if (e.result.error_class.size() > audit_error_class_bytes_max) return false;
    if (e.result.message.size() > audit_message_bytes_max) return false;
    if (e.arguments.size() > audit_arguments_max) return false;
    if (e.sequence > audit_sequence_max) return false;
    return std::all_of(e.arguments.begin(), e.arguments.end(),
                       [](const std::string& a) { return a.size() <= audit_argument_bytes_max; });
}

bool result_is_consistent(const AuditResult& r) {
    if (r.outcome == AuditOutcome::ok) return r.error_class.empty() && r.message.empty();
    return r.outcome == AuditOutcome::error;
}

bool needs_quotes(std::string_view s) {
    if (s.empty()) return true;
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F || c == ' ' || c == '"' || c == '\\';
    });
}

// Control characters, quotes and backslashes as C escapes, so a stored string cannot forge a line.
std::string escaped(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') out += {'\\', c};
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (u < 0x20 || u == 0x7F) out += {'\\', 'x', hex[u >> 4], hex[u & 0xF]};
        else out += c;
    }
    return out;
}

// A word for one line of output: as it is when safe, else in quotes with C escapes.
std::string quoted(std::string_view s) { return needs_quotes(s) ? "\"" + escaped(s) + "\"" : std::string(s); }

// The command's words ("user add") unquoted when they are plain words.
std::string command_text(std::string_view s) {
    const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == '-' || c == '_';
    });
    return plain ? std::string(s) : quoted(s);
}

std::string utc_time(std::int64_t unix_s) {
    const auto t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) return std::to_string(unix_s);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return n ? std::string(buf, n) : std::to_string(unix_s);
}

}  // namespace

bool is_secret_option(std::string_view option) noexcept {
    return std::any_of(secret_options.begin(), secret_options.end(), [&](std::string_view s) {
        return s.size() == option.size() && std::equal(s.begin(), s.end(), option.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
               });
    });
}

std::vector<std::string> redact_arguments(std::span<const std::string> arguments) {
    std::vector<std::string> out;
    out.reserve(arguments.size());
    bool value_is_secret = false;
    for (const std::string& a : arguments) {
        if (value_is_secret) {
            out.emplace_back(audit_redacted);
            value_is_secret = false;
            continue;
        }
        const std::size_t eq = a.find('=');
        if (a.starts_with("--") && eq != std::string::npos && is_secret_name(std::string_view(a).substr(0, eq))) {
            out.push_back(a.substr(0, eq + 1) + std::string(audit_redacted));
            continue;
        }
        value_is_secret = is_secret_option(a);
        out.push_back(a);
    }
    return out;
}

Result<AuditEntry> normalise_audit_entry(AuditEntry entry) {
    if (entry.command.empty() || !result_is_consistent(entry.result)) return fail(store::StoreErrc::invalid_request);
    entry.arguments = redact_arguments(entry.arguments);
    if (entry.arguments.size() > audit_arguments_max) {
        const std::size_t more = entry.arguments.size() - (audit_arguments_max - 1);
        entry.arguments.resize(audit_arguments_max - 1);
        entry.arguments.push_back("(" + std::to_string(more) + " more)");
    }
    for (std::string& a : entry.arguments) a = clamp(std::move(a), audit_argument_bytes_max);
    entry.command = clamp(std::move(entry.command), audit_command_bytes_max);
    entry.result.error_class = clamp(std::move(entry.result.error_class), audit_error_class_bytes_max);
    entry.result.message = clamp(std::move(entry.result.message), audit_message_bytes_max);
    return entry;
}

Result<std::vector<std::uint8_t>> encode_audit_entry(const AuditEntry& e) {
    if (!fields_within_limits(e) || !result_is_consistent(e.result)) return fail(store::StoreErrc::invalid_request);
    Writer w;
    w.u8(audit_entry_format_version);
    w.le(e.sequence, 8);
    w.le(static_cast<std::uint64_t>(e.time_unix), 8);
    w.le(e.actor_uid, 4);
    w.raw(e.previous_hash);
    w.u8(static_cast<std::uint8_t>(e.result.outcome));
    w.str(e.command, 1);
    w.str(e.result.error_class, 1);
    w.str(e.result.message, 2);
    w.u8(static_cast<std::uint8_t>(e.arguments.size()));
    for (const std::string& a : e.arguments) w.str(a, 2);
    return w.take();
}

Result<AuditEntry> decode_audit_entry(std::span<const std::uint8_t> bytes) {
    Reader r(bytes);
    AuditEntry e;
    std::uint64_t format = 0, time = 0, uid = 0, outcome = 0, count = 0;
    bool ok = r.le(format, 1) && format == audit_entry_format_version && r.le(e.sequence, 8) && r.le(time, 8) &&
              r.le(uid, 4) && r.raw(e.previous_hash) && r.le(outcome, 1) && outcome <= 1 &&
              r.str(e.command, 1, audit_command_bytes_max) &&
              r.str(e.result.error_class, 1, audit_error_class_bytes_max) &&
              r.str(e.result.message, 2, audit_message_bytes_max) && r.le(count, 1) && count <= audit_arguments_max;
    for (std::uint64_t i = 0; ok && i < count; ++i) ok = r.str(e.arguments.emplace_back(), 2, audit_argument_bytes_max);
    if (!ok || !r.done()) return fail(store::StoreErrc::corrupt);
    e.time_unix = static_cast<std::int64_t>(time);
    e.actor_uid = static_cast<std::uint32_t>(uid);
    e.result.outcome = static_cast<AuditOutcome>(outcome);
    if (!fields_within_limits(e) || !result_is_consistent(e.result)) return fail(store::StoreErrc::corrupt);
    return e;
}

Result<AuditHash> audit_chain_hash(const AuditHash& previous, std::span<const std::uint8_t> encoded_entry) {
    wc_Sha256 sha;
    AuditHash out{};
    if (wc_InitSha256(&sha) != 0) return fail(store::StoreErrc::failed);
    const bool ok = wc_Sha256Update(&sha, previous.data(), static_cast<word32>(previous.size())) == 0 &&
                    wc_Sha256Update(&sha, encoded_entry.data(), static_cast<word32>(encoded_entry.size())) == 0 &&
                    wc_Sha256Final(&sha, out.data()) == 0;
    wc_Sha256Free(&sha);
    if (!ok) return fail(store::StoreErrc::failed);
    return out;
}

std::string audit_hash_hex(const AuditHash& hash) { return hex_of(hash); }

std::string format_audit_entry(const AuditEntry& e) {
    std::string line = std::to_string(e.sequence) + " " + utc_time(e.time_unix) + " uid=" + std::to_string(e.actor_uid) +
                       " " + command_text(e.command);
    for (const std::string& a : e.arguments) line += " " + quoted(a);
    if (e.result.outcome == AuditOutcome::ok) return line + ": ok";
    line += ": error " + quoted(e.result.error_class);
    if (!e.result.message.empty()) line += ": " + escaped(e.result.message);
    return line;
}

}  // namespace vmx
