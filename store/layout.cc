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

std::string meta_text(std::uint32_t segments, std::uint32_t node = 0);

// Written to a temporary name, synced, renamed, and the folder synced: a crash leaves either no
// meta or a complete one.
Result<void> write_meta(const std::string& data_dir, std::uint32_t segments, std::uint32_t node) {
    const std::string text = meta_text(segments, node);
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
    std::uint32_t node = 0;
};

constexpr std::uint32_t nodes_max = (1u << 20) - 1;  // a delivery marker's bits for it

bool parse_field(std::string_view line, std::string_view name, std::uint32_t& out) {
    const std::string prefix = std::string(name) + " = ";
    if (line.substr(0, prefix.size()) != prefix) return false;
    const std::string_view digits = line.substr(prefix.size());
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && end == digits.data() + digits.size() && !digits.empty();
}

// Three lines: the magic, the format, the segment count; a fourth, the node, in a shared store's
// local meta.
Result<Meta> parse_meta(std::string_view text) {
    std::string_view rest = text;
    std::string_view lines[4];
    std::size_t count = 0;
    while (!rest.empty() && count < 4) {
        const auto nl = rest.find('\n');
        if (nl == std::string_view::npos) return fail(StoreErrc::corrupt);
        lines[count++] = rest.substr(0, nl);
        rest.remove_prefix(nl + 1);
    }
    Meta meta;
    if (!rest.empty() || count < 3 || lines[0] != "vaultmx-store" || !parse_field(lines[1], "format", meta.format) ||
        !parse_field(lines[2], "segments", meta.segments))
        return fail(StoreErrc::corrupt);
    if (count == 4 && (!parse_field(lines[3], "node", meta.node) || meta.node == 0 || meta.node > nodes_max))
        return fail(StoreErrc::corrupt);
    if (meta.format != store_format_version) return fail(StoreErrc::layout_mismatch);
    if (meta.segments == 0 || meta.segments > segments_max) return fail(StoreErrc::corrupt);
    return meta;
}

std::string meta_text(std::uint32_t segments, std::uint32_t node) {
    std::string text = fmt::format("vaultmx-store\nformat = {}\nsegments = {}\n", store_format_version, segments);
    if (node != 0) text += fmt::format("node = {}\n", node);
    return text;
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
    return parse_meta(text);
}

bool has_environment(const std::string& path) {
    struct stat st {};
    return ::stat((path + "/data.mdb").c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The shared store's metadata: the space "meta", table "meta", key "store": the same three lines as
// the local file. Two nodes initialising at once agree: the first commit wins (expect_absent), the
// other reads it back.
constexpr std::string_view kSharedMetaKey = "store";

Result<std::optional<Meta>> read_shared_meta(Space& space) {
    auto table = space.table("meta");
    if (!table) return fail(table.error());
    auto view = space.latest();
    if (!view) return fail(view.error());
    const std::string_view key = kSharedMetaKey;
    auto got = (*view)->get(*table, {reinterpret_cast<const std::uint8_t*>(key.data()), key.size()});
    if (!got) return fail(got.error());
    if (!*got) return std::optional<Meta>{};
    auto meta = parse_meta(std::string_view(reinterpret_cast<const char*>((*got)->data()), (*got)->size()));
    if (!meta) return fail(meta.error());
    return std::optional<Meta>(*meta);
}

// The shared segment count: the recorded one, or `segments` recorded now.
Result<std::uint32_t> agree_shared_meta(Space& space, std::uint32_t segments) {
    auto existing = read_shared_meta(space);
    if (!existing) return fail(existing.error());
    if (*existing) return (*existing)->segments;
    auto table = space.table("meta");
    if (!table) return fail(table.error());
    const std::string text = meta_text(segments);
    const std::string_view key = kSharedMetaKey;
    const ByteView k{reinterpret_cast<const std::uint8_t*>(key.data()), key.size()};
    Batch batch;
    batch.expect_absent(*table, k);
    batch.put(*table, k, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    auto committed = space.commit(batch);
    if (!committed && committed.error() != StoreErrc::conflict) return fail(committed.error());
    auto now = read_shared_meta(space);
    if (!now) return fail(now.error());
    if (!*now) return fail(StoreErrc::corrupt);
    return (*now)->segments;
}

// A new node number from the shared meta's counter ("nodes"), by compare-and-set.
Result<std::uint32_t> allocate_node(Space& space) {
    auto table = space.table("meta");
    if (!table) return fail(table.error());
    const std::string_view name = "nodes";
    const ByteView key{reinterpret_cast<const std::uint8_t*>(name.data()), name.size()};
    for (int attempt = 0; attempt < 100; ++attempt) {
        auto view = space.latest();
        if (!view) return fail(view.error());
        auto got = (*view)->get(*table, key);
        if (!got) return fail(got.error());
        std::uint32_t last = 0;
        if (*got) {
            const std::string_view digits(reinterpret_cast<const char*>((*got)->data()), (*got)->size());
            const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), last);
            if (ec != std::errc() || end != digits.data() + digits.size()) return fail(StoreErrc::corrupt);
        }
        if (last >= nodes_max) return fail(StoreErrc::invalid_request);
        const std::string next = std::to_string(last + 1);
        Batch batch;
        if (*got) batch.expect_equals(*table, key, **got);
        else batch.expect_absent(*table, key);
        batch.put(*table, key, {reinterpret_cast<const std::uint8_t*>(next.data()), next.size()});
        auto committed = space.commit(batch);
        if (committed) return last + 1;
        if (committed.error() != StoreErrc::conflict) return fail(committed.error());
    }
    return fail(StoreErrc::conflict);
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

bool StoreLayout::shared(SegmentKind kind) const noexcept {
    return options_.shared_spaces && (kind == SegmentKind::mail || kind == SegmentKind::temp);
}

Result<std::unique_ptr<Env>> StoreLayout::open_env(SegmentKind kind, std::uint32_t segment) const {
    if (!shared(kind)) return Env::open(path(kind, segment), env_options(kind));
    const std::string name = fmt::format("{}.{:04}", name_of(kind), segment);
    auto space = options_.shared_spaces(name);
    if (!space) return fail(space.error());
    return Env::over(std::move(*space), name);
}

Result<std::unique_ptr<Env>> StoreLayout::open_env(GlobalKind kind, EnvAccess access) const {
    if (!shared(kind)) {
        EnvOptions options = env_options(kind);
        options.access = access;
        return Env::open(path(kind), options);
    }
    const std::string name = fmt::format("global.{}", name_of(kind));
    auto space = options_.shared_spaces(name);
    if (!space) return fail(space.error());
    return Env::over(std::move(*space), name);
}

Result<std::unique_ptr<Space>> StoreLayout::open_leases(std::uint32_t segment) const {
    if (!options_.shared_spaces) return std::unique_ptr<Space>{};
    return options_.shared_spaces(fmt::format("leases.{:04}", segment));
}

EnvOptions StoreLayout::env_options(GlobalKind) const {
    EnvOptions o;
    o.map_bytes = mib(options_.sizing.global_map_mib);
    o.map_bytes_max = std::max(o.map_bytes, mib(options_.sizing.map_mib_max));
    return o;
}

Result<void> StoreLayout::check_environments() const {
    for (GlobalKind g : global_kinds)
        if (!shared(g) && !has_environment(path(g))) return fail(StoreErrc::layout_mismatch);
    for (SegmentKind k : segment_kinds)
        for (std::uint32_t s = 0; s < segments_; ++s)
            if (!shared(k) && !has_environment(path(k, s))) return fail(StoreErrc::layout_mismatch);
    return {};
}

Result<StoreLayout> StoreLayout::open(const std::string& data_dir, const StoreOptions& options) {
    auto meta = read_meta(data_dir);
    if (!meta) return fail(meta.error());
    if (options.shared_spaces) {  // this node's folders and the cluster must agree
        auto space = options.shared_spaces("meta");
        if (!space) return fail(space.error());
        auto shared = read_shared_meta(**space);
        if (!shared) return fail(shared.error());
        if (!*shared) return fail(StoreErrc::not_initialised);
        if ((*shared)->segments != meta->segments || meta->node == 0) return fail(StoreErrc::layout_mismatch);
    } else if (meta->node != 0) {
        return fail(StoreErrc::layout_mismatch);  // a node's folder of a shared store, configured without it
    }
    StoreLayout layout(data_dir, options, meta->segments);
    layout.node_ = meta->node;
    if (auto r = layout.check_environments(); !r) return fail(r.error());
    return layout;
}

Result<StoreLayout::InitOutcome> StoreLayout::init(const std::string& data_dir, const StoreOptions& options) {
    if (auto existing = open(data_dir, options); existing) return InitOutcome{std::move(*existing), false};
    else if (existing.error() != StoreErrc::not_initialised) return fail(existing.error());
    if (options.sizing.segments == 0 || options.sizing.segments > segments_max) return fail(StoreErrc::invalid_request);
    std::uint32_t segments = options.sizing.segments;
    std::uint32_t node = 0;
    if (options.shared_spaces) {  // another node may have set up the cluster already: its count wins
        auto space = options.shared_spaces("meta");
        if (!space) return fail(space.error());
        auto agreed = agree_shared_meta(**space, segments);
        if (!agreed) return fail(agreed.error());
        segments = *agreed;
        auto allocated = allocate_node(**space);
        if (!allocated) return fail(allocated.error());
        node = *allocated;
    }
    StoreLayout layout(data_dir, options, segments);
    layout.node_ = node;
    if (auto r = make_folder(data_dir); !r) return fail(r.error());
    if (auto r = make_folder(data_dir + "/global"); !r) return fail(r.error());
    for (GlobalKind g : global_kinds) {
        if (layout.shared(g)) {
            if (auto env = layout.open_env(g); !env) return fail(env.error());
        } else if (auto r = create_environment(layout.path(g), layout.env_options(g)); !r) {
            return fail(r.error());
        }
    }
    for (SegmentKind k : segment_kinds) {
        if (!layout.shared(k))
            if (auto r = make_folder(layout.root(k)); !r) return fail(r.error());
        for (std::uint32_t s = 0; s < layout.segments_; ++s) {
            if (layout.shared(k)) {
                if (auto env = layout.open_env(k, s); !env) return fail(env.error());
            } else if (auto r = create_environment(layout.path(k, s), layout.env_options(k)); !r) {
                return fail(r.error());
            }
        }
    }
    // The metadata last: a folder without it was never completely initialised, and init runs again.
    if (auto r = write_meta(data_dir, layout.segments_, layout.node_); !r) return fail(r.error());
    return InitOutcome{std::move(layout), true};
}

}  // namespace vmx::store
