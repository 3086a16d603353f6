#include "store/layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

namespace vmx::store {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMetaName = "meta";
constexpr std::size_t kMetaBytesMax = 4096;

std::size_t mib(std::uint32_t n) { return std::size_t{n} << 20; }

Result<void> make_folder(const std::string& path) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) return fail(ec);
    // Mode 0700 whether new or not: a store folder is never readable by others.
    if (::chmod(path.c_str(), 0700) != 0) return fail_errno(errno);
    return {};
}

Result<void> fsync_path(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) return fail_errno(errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return fail_errno(err);
    return {};
}

// Written to a temporary name, synced, renamed, and the folder synced: a crash leaves either no
// meta or a complete one.
Result<void> write_meta(const std::string& data_dir, std::uint32_t segments) {
    const std::string text = fmt::format("vaultmx-store\nformat = {}\nsegments = {}\n", store_format_version, segments);
    const std::string final_path = data_dir + "/" + std::string(kMetaName);
    const std::string temp_path = final_path + ".new";
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail_errno(errno);
    const ssize_t wrote = ::write(fd, text.data(), text.size());
    int err = errno;
    const bool ok = wrote == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    if (!ok && wrote >= 0) err = wrote == static_cast<ssize_t>(text.size()) ? errno : EIO;
    ::close(fd);
    if (!ok) return fail_errno(err);
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) return fail_errno(errno);
    return fsync_path(data_dir, O_RDONLY | O_DIRECTORY);
}

struct Meta {
    std::uint32_t format = 0;
    std::uint32_t segments = 0;
};

bool parse_field(std::string_view line, std::string_view name, std::uint32_t& out) {
    const std::string prefix = std::string(name) + " = ";
    if (line.substr(0, prefix.size()) != prefix) return false;
    const std::string_view digits = line.substr(prefix.size());
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && end == digits.data() + digits.size() && !digits.empty();
}

Result<Meta> read_meta(const std::string& data_dir) {
    const std::string path = data_dir + "/" + std::string(kMetaName);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? fail(StoreErrc::not_initialised) : fail_errno(errno);
    std::string text(kMetaBytesMax + 1, '\0');
    const ssize_t got = ::read(fd, text.data(), text.size());
    const int err = errno;
    ::close(fd);
    if (got < 0) return fail_errno(err);
    if (static_cast<std::size_t>(got) > kMetaBytesMax) return fail(StoreErrc::corrupt);
    text.resize(static_cast<std::size_t>(got));
    // Exactly three lines: the magic, the format, the segment count.
    std::string_view rest = text;
    std::string_view lines[3];
    for (auto& line : lines) {
        const auto nl = rest.find('\n');
        if (nl == std::string_view::npos) return fail(StoreErrc::corrupt);
        line = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
    }
    Meta meta;
    if (!rest.empty() || lines[0] != "vaultmx-store" || !parse_field(lines[1], "format", meta.format) ||
        !parse_field(lines[2], "segments", meta.segments))
        return fail(StoreErrc::corrupt);
    if (meta.format != store_format_version) return fail(StoreErrc::layout_mismatch);
    if (meta.segments == 0 || meta.segments > segments_max) return fail(StoreErrc::corrupt);
    return meta;
}

bool has_environment(const std::string& path) {
    struct stat st {};
    return ::stat((path + "/data.mdb").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Creates the folder and the environment's files, then closes it.
Result<void> create_environment(const std::string& path, const EnvOptions& options) {
    if (auto r = make_folder(path); !r) return r;
    auto env = Env::open(path, options);
    if (!env) return fail(env.error());
    return {};
}

}  // namespace

std::string_view name_of(SegmentKind kind) noexcept {
    switch (kind) {
        case SegmentKind::mail: return "mail";
        case SegmentKind::temp: return "temp";
        case SegmentKind::smtp_in: return "smtp-in";
        case SegmentKind::smtp_out: return "smtp-out";
    }
    return "unknown";
}

std::string_view name_of(GlobalKind kind) noexcept {
    switch (kind) {
        case GlobalKind::directory: return "directory";
        case GlobalKind::keys: return "keys";
        case GlobalKind::audit: return "audit";
    }
    return "unknown";
}

std::uint32_t segment_of(std::uint64_t user_id, std::uint32_t segment_count) noexcept {
    VMX_ASSERT(segment_count > 0);
    std::uint64_t z = user_id + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<std::uint32_t>(z % segment_count);
}

std::string StoreLayout::root(SegmentKind kind) const {
    const std::string* configured = nullptr;
    switch (kind) {
        case SegmentKind::mail: configured = &options_.mail_path; break;
        case SegmentKind::temp: configured = &options_.temp_path; break;
        case SegmentKind::smtp_in: configured = &options_.smtp_in_path; break;
        case SegmentKind::smtp_out: configured = &options_.smtp_out_path; break;
    }
    VMX_ASSERT(configured != nullptr);
    if (!configured->empty() && configured->front() == '/') return *configured;
    return data_dir_ + "/" + *configured;
}

std::string StoreLayout::path(SegmentKind kind, std::uint32_t segment) const {
    VMX_ASSERT(segment < segments_);
    return fmt::format("{}/{:04}", root(kind), segment);
}

std::string StoreLayout::path(GlobalKind kind) const { return fmt::format("{}/global/{}", data_dir_, name_of(kind)); }

EnvOptions StoreLayout::env_options(SegmentKind kind) const {
    EnvOptions o;
    switch (kind) {
        case SegmentKind::mail: o.map_bytes = mib(options_.sizing.mail_map_mib); break;
        case SegmentKind::temp: o.map_bytes = mib(options_.sizing.temp_map_mib); break;
        case SegmentKind::smtp_in:
        case SegmentKind::smtp_out: o.map_bytes = mib(options_.sizing.queue_map_mib); break;
    }
    o.map_bytes_max = std::max(o.map_bytes, mib(options_.sizing.map_mib_max));
    return o;
}

EnvOptions StoreLayout::env_options(GlobalKind) const {
    EnvOptions o;
    o.map_bytes = mib(options_.sizing.global_map_mib);
    o.map_bytes_max = std::max(o.map_bytes, mib(options_.sizing.map_mib_max));
    return o;
}

Result<void> StoreLayout::check_environments() const {
    for (GlobalKind g : global_kinds)
        if (!has_environment(path(g))) return fail(StoreErrc::layout_mismatch);
    for (SegmentKind k : segment_kinds)
        for (std::uint32_t s = 0; s < segments_; ++s)
            if (!has_environment(path(k, s))) return fail(StoreErrc::layout_mismatch);
    return {};
}

Result<StoreLayout> StoreLayout::open(const std::string& data_dir, const StoreOptions& options) {
    auto meta = read_meta(data_dir);
    if (!meta) return fail(meta.error());
    StoreLayout layout(data_dir, options, meta->segments);
    if (auto r = layout.check_environments(); !r) return fail(r.error());
    return layout;
}

Result<StoreLayout::InitOutcome> StoreLayout::init(const std::string& data_dir, const StoreOptions& options) {
    if (auto existing = open(data_dir, options); existing) return InitOutcome{std::move(*existing), false};
    else if (existing.error() != StoreErrc::not_initialised) return fail(existing.error());
    if (options.sizing.segments == 0 || options.sizing.segments > segments_max) return fail(StoreErrc::invalid_request);
    StoreLayout layout(data_dir, options, options.sizing.segments);
    if (auto r = make_folder(data_dir); !r) return fail(r.error());
    if (auto r = make_folder(data_dir + "/global"); !r) return fail(r.error());
    for (GlobalKind g : global_kinds)
        if (auto r = create_environment(layout.path(g), layout.env_options(g)); !r) return fail(r.error());
    for (SegmentKind k : segment_kinds) {
        if (auto r = make_folder(layout.root(k)); !r) return fail(r.error());
        for (std::uint32_t s = 0; s < layout.segments_; ++s)
            if (auto r = create_environment(layout.path(k, s), layout.env_options(k)); !r) return fail(r.error());
    }
    // The metadata last: a folder without it was never completely initialised, and init runs again.
    if (auto r = write_meta(data_dir, layout.segments_); !r) return fail(r.error());
    return InitOutcome{std::move(layout), true};
}

}  // namespace vmx::store
