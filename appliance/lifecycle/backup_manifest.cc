// A backup's manifest (see backup_manifest.h). The file:
//   vaultmx-backup 1\n  created <unix seconds>\n  master <32 hex digits>\n  \n  <sealed body>
// The body, once opened: "store_format N\n", "segments N\n", then "file PATH BYTES SHA256HEX\n" per
// file. Sealed with identity {backup, 0, 0, created}: a header with another time does not open it.
#include "appliance/lifecycle/backup_manifest.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <string_view>

#include "crypto/hkdf.h"
#include "crypto/sealed_record.h"
#include "core/hex_text.h"

namespace vmx {
namespace {

constexpr std::string_view magic = "vaultmx-backup ";
constexpr std::size_t header_bytes_max = 256;
constexpr std::size_t body_line_bytes_max = 256;

crypto::RecordIdentity manifest_identity(std::int64_t created_unix) {
    crypto::RecordIdentity id;
    id.store = crypto::StoreKind::backup;
    id.record_id = static_cast<std::uint64_t>(created_unix);
    return id;
}

std::span<const std::uint8_t, 32> key_span(const crypto::SecretBytes& key) {
    return std::span<const std::uint8_t, 32>(key.view().data(), 32);
}

template <class T>
bool parse_number(std::string_view text, T& out) {
    if (text.empty() || text.size() > 20) return false;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
}

template <std::size_t N>
bool parse_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
    if (text.size() != 2 * N) return false;
    for (std::size_t i = 0; i < N; ++i) {
        const auto [end, error] = std::from_chars(text.data() + 2 * i, text.data() + 2 * i + 2, out[i], 16);
        if (error != std::errc() || end != text.data() + 2 * i + 2) return false;
    }
    for (const char c : text)
        if (c >= 'A' && c <= 'F') return false;  // one spelling only
    return true;
}

// Lower-case letters, digits, '-', '_', '.' and '/', relative, no empty, "." or ".." component.
bool valid_path(std::string_view path) {
    if (path.empty() || path.size() > backup_path_bytes_max || path.front() == '/' || path.back() == '/') return false;
    for (const char c : path)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '/')) return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = std::min(path.find('/', start), path.size());
        const std::string_view part = path.substr(start, slash - start);
        if (part.empty() || part == "." || part == "..") return false;
        start = slash + 1;
    }
    return true;
}

// The next line (without its '\n') of `rest`, or nullopt when there is no '\n' within `max`.
std::optional<std::string_view> take_line(std::string_view& rest, std::size_t max) {
    const std::size_t end = rest.find('\n');
    if (end == std::string_view::npos || end > max) return std::nullopt;
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    return line;
}

std::optional<std::string_view> value_of(std::string_view line, std::string_view name) {
    if (line.size() <= name.size() + 1 || line.substr(0, name.size()) != name || line[name.size()] != ' ') return std::nullopt;
    return line.substr(name.size() + 1);
}

}  // namespace

std::variant<BackupManifest, std::string> parse_backup_manifest_body(std::string_view body) {
    BackupManifest m;
    std::string_view rest = body;
    auto store_format = take_line(rest, body_line_bytes_max);
    auto segments = take_line(rest, body_line_bytes_max);
    if (!store_format || !segments) return std::string("the manifest is damaged: its body is malformed");
    auto sf = value_of(*store_format, "store_format");
    auto sg = value_of(*segments, "segments");
    if (!sf || !sg || !parse_number(*sf, m.store_format) || !parse_number(*sg, m.segments) || m.segments == 0 ||
        m.segments > 4096)
        return std::string("the manifest is damaged: its body is malformed");
    while (!rest.empty()) {
        auto line = take_line(rest, body_line_bytes_max);
        if (!line) return std::string("the manifest is damaged: a file line is malformed");
        auto fields = value_of(*line, "file");
        if (!fields) return std::string("the manifest is damaged: a file line is malformed");
        const std::size_t a = fields->find(' ');
        const std::size_t b = a == std::string_view::npos ? a : fields->find(' ', a + 1);
        if (b == std::string_view::npos) return std::string("the manifest is damaged: a file line is malformed");
        BackupFile f;
        f.path.assign(fields->substr(0, a));
        if (!valid_path(f.path) || !parse_number(fields->substr(a + 1, b - a - 1), f.bytes) ||
            !parse_hex(fields->substr(b + 1), f.sha256))
            return std::string("the manifest is damaged: a file line is malformed");
        for (const BackupFile& seen : m.files)
            if (seen.path == f.path) return std::string("the manifest is damaged: a file is listed twice");
        if (m.files.size() == backup_files_max) return std::string("the manifest lists too many files");
        m.files.push_back(std::move(f));
    }
    return m;
}

Result<crypto::SecretBytes> derive_backup_key(std::span<const std::uint8_t> master_key) {
    return crypto::hkdf_sha256(master_key, {}, "vaultmx backup manifest v1", 32);
}

Result<std::string> write_backup_manifest(const BackupManifest& m, const crypto::SecretBytes& backup_key) {
    std::string body = fmt::format("store_format {}\nsegments {}\n", m.store_format, m.segments);
    for (const BackupFile& f : m.files) body += fmt::format("file {} {} {}\n", f.path, f.bytes, hex_of(f.sha256));
    const auto plain = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
    auto sealed = crypto::seal(key_span(backup_key), manifest_identity(m.created_unix), plain);
    if (!sealed) return fail(sealed.error());
    std::string out = fmt::format("{}{}\ncreated {}\nmaster {}\n\n", magic, m.format, m.created_unix,
                                  hex_of(m.master_check));
    out.append(reinterpret_cast<const char*>(sealed->data()), sealed->size());
    return out;
}

std::variant<BackupHeader, std::string> read_backup_header(std::string_view file) {
    const std::string not_manifest = "not a vaultmx backup manifest";
    if (file.size() > backup_manifest_bytes_max) return std::string("the manifest is larger than any backup's");
    std::string_view rest = file;
    auto first = take_line(rest, header_bytes_max);
    auto created = take_line(rest, header_bytes_max);
    auto master = take_line(rest, header_bytes_max);
    auto blank = take_line(rest, header_bytes_max);
    if (!first || !created || !master || !blank || !blank->empty() || first->substr(0, magic.size()) != magic)
        return not_manifest;
    BackupHeader h;
    auto c = value_of(*created, "created");
    auto k = value_of(*master, "master");
    if (!parse_number(first->substr(magic.size()), h.format) || !c || !parse_number(*c, h.created_unix) ||
        h.created_unix < 0 || !k || !parse_hex(*k, h.master_check))
        return not_manifest;
    if (h.format != backup_format_version)
        return fmt::format("the backup is in format {}; this build reads format {}", h.format, backup_format_version);
    return h;
}

std::variant<BackupManifest, std::string> read_backup_manifest(std::string_view file, const crypto::SecretBytes& backup_key,
                                                               const std::array<std::uint8_t, 16>& master_check) {
    auto header = read_backup_header(file);
    if (auto* wrong = std::get_if<std::string>(&header)) return std::move(*wrong);
    const BackupHeader& h = std::get<BackupHeader>(header);
    if (h.master_check != master_check)
        return fmt::format("the backup was made under another master key (fingerprint {}, this key's {})",
                           hex_of(h.master_check), hex_of(master_check));
    const std::size_t body_at = file.find("\n\n") + 2;
    const auto sealed = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(file.data()) + body_at,
                                                      file.size() - body_at);
    auto plain = crypto::open(key_span(backup_key), manifest_identity(h.created_unix), sealed);
    if (!plain) return std::string("the manifest is damaged: its seal does not open");
    auto body = parse_backup_manifest_body(std::string_view(reinterpret_cast<const char*>(plain->data()), plain->size()));
    if (auto* m = std::get_if<BackupManifest>(&body)) {
        m->format = h.format;
        m->created_unix = h.created_unix;
        m->master_check = h.master_check;
    }
    return body;
}

}  // namespace vmx
