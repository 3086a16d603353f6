// Backups of a store (see backup.h).
#include "appliance/lifecycle/backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "appliance/keys/appliance_secrets.h"
#include "appliance/lifecycle/backup_files.h"
#include "appliance/lifecycle/backup_keys.h"
#include "appliance/lifecycle/backup_lock.h"
#include "appliance/lifecycle/record_check.h"
#include "core/log_sink.h"
#include "crypto/sha256.h"
#include "store/env_copy.h"
#include "store/key_store.h"
#include "store/lmdb.h"

namespace vmx {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view meta_name = "meta";

// One environment of a backup: where it sits in the backup folder and what it holds.
struct BackupEnv {
    std::string rel;  // "keys", "global/directory", "mail/0003"
    EnvRole role;
};

std::vector<BackupEnv> backup_envs(std::uint32_t segments) {
    std::vector<BackupEnv> out;
    out.push_back({std::string(backup_keys_folder), {true, store::GlobalKind::keys}});
    out.push_back({"global/directory", {true, store::GlobalKind::directory}});
    out.push_back({"global/audit", {true, store::GlobalKind::audit}});
    for (store::SegmentKind kind : store::segment_kinds)
        for (std::uint32_t s = 0; s < segments; ++s)
            out.push_back({fmt::format("{}/{:04}", store::name_of(kind), s), {false, {}, kind, s}});
    return out;
}

std::string source_of(const store::StoreLayout& layout, const EnvRole& role) {
    return role.global ? layout.path(role.global_kind) : layout.path(role.segment_kind, role.segment);
}

// mkdir -p with mode 0700 for what it makes (the umask may only take more away).
std::optional<std::string> make_folders(const std::string& root, std::string_view rel) {
    std::string path = root;
    for (std::size_t start = 0; start <= rel.size();) {
        const std::size_t slash = std::min(rel.find('/', start), rel.size());
        path += "/" + std::string(rel.substr(start, slash - start));
        if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return fmt::format("cannot create {}: {}", path, errno_text(errno));
        start = slash + 1;
    }
    return std::nullopt;
}

// Whether `path` is absent or an empty folder.
bool absent_or_empty(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return true;
    return fs::is_directory(path, ec) && fs::is_empty(path, ec);
}

// A copy of a file: to.part (0600), synced, then renamed over `to`. Plain reads and writes: the
// daemon's system-call filter has no copy_file_range or sendfile.
std::optional<std::string> copy_file_durably(const std::string& from, const std::string& to) {
    const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return fmt::format("cannot read {}: {}", from, errno_text(errno));
    const std::string part = to + ".part";
    const int out = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        const int error = errno;
        ::close(in);
        return fmt::format("cannot create {}: {}", part, errno_text(error));
    }
    std::vector<char> block(std::size_t{4} << 20);
    std::optional<std::string> failed;
    for (;;) {
        const ssize_t n = ::read(in, block.data(), block.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            failed = fmt::format("cannot read {}: {}", from, errno_text(errno));
            break;
        }
        if (n == 0) break;
        for (ssize_t done = 0; done < n && !failed;) {
            const ssize_t w = ::write(out, block.data() + done, static_cast<std::size_t>(n - done));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) failed = fmt::format("cannot write {}: {}", part, errno_text(errno));
            else done += w;
        }
        if (failed) break;
    }
    if (!failed && ::fsync(out) != 0) failed = fmt::format("cannot sync {}: {}", part, errno_text(errno));
    ::close(in);
    ::close(out);
    if (failed) return failed;
    if (::rename(part.c_str(), to.c_str()) != 0) return fmt::format("cannot rename {}: {}", part, errno_text(errno));
    return std::nullopt;
}

void add(BackupReport& report, std::string problem) { report.problems.push_back(std::move(problem)); }

// The files listed against the files there: each present with its size and digest, none missing,
// none that the manifest does not know. True when all match.
bool check_files(const std::string& dir, const BackupManifest& m, BackupReport& report, const BackupProgressFn& progress) {
    std::set<std::string> expected{std::string(meta_name)};
    for (const BackupEnv& e : backup_envs(m.segments)) expected.insert(e.rel + "/" + std::string(backup_data_file));
    std::set<std::string> listed;
    const std::size_t before = report.problems.size();
    for (std::size_t i = 0; i < m.files.size(); ++i) {
        const BackupFile& f = m.files[i];
        listed.insert(f.path);
        if (progress) progress({"digest", f.path, i, m.files.size()});
        if (!expected.contains(f.path)) add(report, fmt::format("{}: listed, but not a file a backup holds", f.path));
        std::uint64_t bytes = 0;
        auto digest = crypto::sha256_file(dir + "/" + f.path, bytes);
        if (!digest) {
            add(report, fmt::format("{}: {}", f.path,
                                    digest.error() == std::errc::no_such_file_or_directory ? "missing" : digest.error().message()));
            continue;
        }
        ++report.files;
        report.bytes += bytes;
        if (bytes != f.bytes) add(report, fmt::format("{}: {} bytes, the manifest says {}", f.path, bytes, f.bytes));
        else if (*digest != f.sha256) add(report, fmt::format("{}: its SHA-256 is not the manifest's (changed since the backup)", f.path));
    }
    for (const std::string& path : expected)
        if (!listed.contains(path)) add(report, fmt::format("{}: not in the manifest", path));
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file()) continue;
        const std::string rel = fs::relative(it->path(), dir).string();
        if (rel == backup_manifest_name || listed.contains(rel) || it->path().filename() == "lock.mdb") continue;
        add(report, fmt::format("{}: a file the manifest does not list", rel));
    }
    return report.problems.size() == before;
}

// Every record of the backup's environments opened with its own key store.
void check_contents(const std::string& dir, const crypto::MasterKey& master, const BackupManifest& m, BackupReport& report,
                    const BackupProgressFn& progress) {
    store::EnvOptions options;
    options.access = store::EnvAccess::read_private;
    options.map_bytes = options.map_bytes_max = std::size_t{1} << 20;  // the file's own size wins
    auto keys_env = store::Env::open(dir + "/keys", options);
    if (!keys_env) return add(report, "keys: cannot open: " + keys_env.error().message());
    auto key_store = store::KeyStore::open(**keys_env);
    if (!key_store) return add(report, "keys: cannot read the key records: " + key_store.error().message());
    auto ring = key_store->load(crypto::copy_of(master));
    if (!ring) return add(report, "keys: the key records do not open under this master key: " + ring.error().message());
    if (auto secrets = ApplianceSecrets::open(**keys_env)) {
        if (auto names = secrets->list()) {
            for (const SecretInfo& s : *names)
                if (auto value = secrets->get(master, s.name); !value) add(report, fmt::format("keys: secret {}: {}", s.name, value.error().message()));
        } else {
            add(report, "keys: cannot list the appliance secrets: " + names.error().message());
        }
    }  // an older store without the secrets database has none to check
    const auto keys = ring->snapshot();
    const auto envs = backup_envs(m.segments);
    for (std::size_t i = 0; i < envs.size(); ++i) {
        if (progress) progress({"check", envs[i].rel, i, envs.size()});
        auto env = store::Env::open(dir + "/" + envs[i].rel, options);
        if (!env) {
            add(report, fmt::format("{}: cannot open: {}", envs[i].rel, env.error().message()));
            continue;
        }
        const RecordCheck check = check_records(**env, envs[i].role, *keys, envs[i].rel);
        report.records += check.opened;
        report.shredded += check.shredded;
        for (const std::string& failure : check.failures) add(report, failure);
        if (check.failures_total > check.failures.size())
            add(report, fmt::format("{}: {} more records do not open", envs[i].rel, check.failures_total - check.failures.size()));
    }
}

}  // namespace

std::string backup_folder_name(std::int64_t now_unix) {
    std::string stamp = format_utc_seconds(now_unix);
    std::erase(stamp, '-');
    std::erase(stamp, ':');
    return "vaultmx-" + stamp;
}

CopyEnvironment copy_beside_daemon(const store::StoreLayout& layout) {
    return [&layout](const EnvRole& role, const std::string& to) { return store::copy_environment(source_of(layout, role), to); };
}

std::variant<std::string, std::string> read_store_meta(const store::StoreLayout& layout) {
    std::string meta;
    if (auto failed = read_small_file(layout.data_dir() + "/" + std::string(meta_name), 4096, meta))
        return std::variant<std::string, std::string>(std::in_place_index<1>, *failed);
    return std::variant<std::string, std::string>(std::in_place_index<0>, std::move(meta));
}

std::variant<BackupCreated, std::string> create_backup(const store::StoreLayout& layout, const CopyEnvironment& copy,
                                                       std::string_view meta, const crypto::MasterKey& master,
                                                       const std::string& to, std::int64_t now_unix,
                                                       const BackupProgressFn& progress) {
    // A backup copies the environments' files; a store shared on RADOS has none here to copy.
    if (layout.shared(store::GlobalKind::directory))
        return std::string("the store is shared on RADOS ([store] backend = \"rados\"): back it up with Ceph's own "
                           "means (pool snapshots, rbd-mirror or rados export); vaultmx backups copy LMDB stores");
    // One writer at a time in the folder of backups: a scrub waits for this backup to be whole.
    std::string locked;
    const auto lock = BackupLock::take(fs::path(to).parent_path().string(), true, &locked);
    if (!lock) return locked;
    if (!absent_or_empty(to)) return fmt::format("{} is not empty: a backup goes into a new or empty folder", to);
    if (::mkdir(to.c_str(), 0700) != 0 && errno != EEXIST) return fmt::format("cannot create {}: {}", to, errno_text(errno));
    BackupManifest manifest;
    manifest.store_format = layout.format();
    manifest.segments = layout.segments();
    manifest.created_unix = now_unix;
    manifest.master_check = master.check;
    BackupCreated created;
    const auto envs = backup_envs(layout.segments());
    auto record = [&](const std::string& rel) -> std::optional<std::string> {
        std::uint64_t bytes = 0;
        auto digest = crypto::sha256_file(to + "/" + rel, bytes);
        if (!digest) return fmt::format("cannot read back {}: {}", rel, digest.error().message());
        manifest.files.push_back({rel, bytes, *digest});
        ++created.files;
        created.bytes += bytes;
        return std::nullopt;
    };
    for (std::size_t i = 0; i < envs.size(); ++i) {
        if (progress) progress({"copy", envs[i].rel, i, envs.size()});
        const std::string target = to + "/" + envs[i].rel;
        if (auto failed = make_folders(to, envs[i].rel)) return *failed;
        if (auto copied = copy(envs[i].role, target); !copied)
            return fmt::format("cannot copy {}: {}", source_of(layout, envs[i].role), copied.error().message());
        if (envs[i].rel == backup_keys_folder) continue;  // recorded once its last copy is merged in
        if (auto failed = record(envs[i].rel + "/" + std::string(backup_data_file))) return *failed;
    }
    // The key store again, after the data: what was made or retired meanwhile is merged in (backup_keys.h).
    const std::string keys_dir = to + "/" + std::string(backup_keys_folder);
    const std::string late_dir = keys_dir + ".late";
    if (::mkdir(late_dir.c_str(), 0700) != 0) return fmt::format("cannot create {}: {}", late_dir, errno_text(errno));
    if (auto copied = copy(envs.front().role, late_dir); !copied)  // backup_envs() puts the keys first
        return fmt::format("cannot copy {}: {}", source_of(layout, envs.front().role), copied.error().message());
    if (auto failed = merge_backup_keys(keys_dir, late_dir)) return *failed;
    if (auto failed = record(std::string(backup_keys_folder) + "/" + std::string(backup_data_file))) return *failed;
    if (auto failed = write_durably(to + "/" + std::string(meta_name), meta)) return *failed;
    if (auto failed = record(std::string(meta_name))) return *failed;
    auto key = derive_backup_key(master.material.view());
    if (!key) return "cannot derive the backup key: " + key.error().message();
    auto text = write_backup_manifest(manifest, *key);
    if (!text) return "cannot seal the manifest: " + text.error().message();
    if (auto failed = write_durably(to + "/" + std::string(backup_manifest_name), *text)) return *failed;
    return created;
}

BackupReport verify_backup(const std::string& dir, const crypto::MasterKey& master, const BackupProgressFn& progress) {
    BackupReport report;
    std::string file;
    if (auto failed = read_small_file(dir + "/" + std::string(backup_manifest_name), backup_manifest_bytes_max, file)) {
        add(report, *failed + " (not a finished backup)");
        return report;
    }
    auto key = derive_backup_key(master.material.view());
    if (!key) {
        add(report, "cannot derive the backup key: " + key.error().message());
        return report;
    }
    auto manifest = read_backup_manifest(file, *key, master.check);
    if (auto* wrong = std::get_if<std::string>(&manifest)) {
        add(report, "manifest: " + *wrong);
        return report;
    }
    report.manifest = std::get<BackupManifest>(std::move(manifest));
    // A file that is not byte for byte the one copied is never handed to LMDB.
    if (!check_files(dir, *report.manifest, report, progress)) return report;
    check_contents(dir, master, *report.manifest, report, progress);
    return report;
}

std::optional<std::string> restore_backup(const std::string& dir, const crypto::MasterKey& master, const std::string& data_dir,
                                          const store::StoreOptions& options, const BackupProgressFn& progress) {
    // Every folder the store will use must be empty: a restore never mixes with live data.
    std::vector<std::string> roots{data_dir};
    for (const std::string* path : {&options.mail_path, &options.temp_path, &options.smtp_in_path, &options.smtp_out_path})
        if (!path->empty() && path->front() == '/') roots.push_back(*path);
    for (const std::string& root : roots)
        if (!absent_or_empty(root)) return fmt::format("{} is not empty: restore rebuilds an empty data folder only", root);
    BackupReport report = verify_backup(dir, master, progress);
    if (!report.problems.empty())
        return fmt::format("the backup does not verify ({} problem(s)), first: {}", report.problems.size(), report.problems.front());
    store::StoreOptions restored = options;
    restored.sizing.segments = report.manifest->segments;
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    if (ec) return fmt::format("cannot create {}: {}", data_dir, ec.message());
    ::chmod(data_dir.c_str(), 0700);
    auto made = store::StoreLayout::init(data_dir, restored);
    if (!made) return fmt::format("cannot lay out {}: {}", data_dir, made.error().message());
    const store::StoreLayout& layout = made->layout;
    const auto envs = backup_envs(report.manifest->segments);
    for (std::size_t i = 0; i < envs.size(); ++i) {
        if (progress) progress({"restore", envs[i].rel, i, envs.size()});
        const std::string target = source_of(layout, envs[i].role);
        if (auto failed = copy_file_durably(dir + "/" + envs[i].rel + "/" + std::string(backup_data_file),
                                            target + "/" + std::string(backup_data_file)))
            return *failed;
        fs::remove(target + "/lock.mdb", ec);  // the empty environment's; LMDB makes a new one
        if (!store::sync_path(target)) return fmt::format("cannot sync {}", target);
    }
    if (auto failed = copy_file_durably(dir + "/" + std::string(meta_name), data_dir + "/" + std::string(meta_name)))
        return *failed;
    if (!store::sync_path(data_dir)) return fmt::format("cannot sync {}", data_dir);
    return std::nullopt;
}

std::vector<BackupListing> list_backups(const std::string& parent) {
    std::vector<BackupListing> out;
    std::error_code ec;
    for (auto it = fs::directory_iterator(parent, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (!it->is_directory()) continue;
        BackupListing listing;
        listing.dir = it->path().string();
        std::string file;
        if (auto failed = read_small_file(listing.dir + "/" + std::string(backup_manifest_name), backup_manifest_bytes_max, file))
            listing.header = std::string("no manifest: not a finished backup");
        else
            listing.header = read_backup_header(file);
        std::error_code walk;
        for (auto f = fs::recursive_directory_iterator(listing.dir, walk); !walk && f != fs::recursive_directory_iterator(); f.increment(walk))
            if (f->is_regular_file()) listing.bytes += f->file_size();
        out.push_back(std::move(listing));
    }
    std::sort(out.begin(), out.end(), [](const BackupListing& a, const BackupListing& b) { return a.dir < b.dir; });
    return out;
}

}  // namespace vmx
