// A backup's key store: the merge at creation and the scrub after a shredding (see backup_keys.h).
#include "appliance/lifecycle/backup_keys.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>

#include "appliance/lifecycle/backup_files.h"
#include "appliance/lifecycle/backup_manifest.h"
#include "crypto/sha256.h"
#include "store/env_copy.h"
#include "store/key_store.h"
#include "store/lmdb.h"

namespace vmx {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view next_manifest_name = "manifest.next";
constexpr std::size_t map_headroom_bytes = std::size_t{16} << 20;

using Records = std::vector<crypto::ScopeKeyRecord>;

std::map<std::uint64_t, const crypto::ScopeKeyRecord*> by_id(const Records& records) {
    std::map<std::uint64_t, const crypto::ScopeKeyRecord*> out;
    for (const auto& r : records) out[r.key_id] = &r;
    return out;
}

bool live(const crypto::KeyVersion& v) { return v.state != crypto::KeyState::destroyed; }

store::EnvOptions options_for(const std::string& dir, store::EnvAccess access) {
    store::EnvOptions options;
    options.access = access;
    std::error_code ec;
    const auto bytes = fs::file_size(dir + "/" + std::string(backup_data_file), ec);
    options.map_bytes = options.map_bytes_max = (ec ? 0 : static_cast<std::size_t>(bytes)) + map_headroom_bytes;
    return options;
}

std::variant<Records, std::string> read_records(const std::string& dir) {
    auto env = store::Env::open(dir, options_for(dir, store::EnvAccess::read_private));
    if (!env) return fmt::format("cannot open the key store in {}: {}", dir, env.error().message());
    auto key_store = store::KeyStore::open(**env);
    if (!key_store) return fmt::format("cannot read the key store in {}: {}", dir, key_store.error().message());
    auto records = key_store->stored_records();
    if (!records) return fmt::format("cannot read the key records in {}: {}", dir, records.error().message());
    return std::move(*records);
}

// `scratch` (a folder of ours holding data.mdb) with `records` put over its own, then compacted
// into the new, empty folder `out` (synced). `scratch` is left for the caller to remove.
std::optional<std::string> rewrite_into(const std::string& scratch, const Records& records, const std::string& out) {
    auto env = store::Env::open(scratch, options_for(scratch, store::EnvAccess::write));
    if (!env) return fmt::format("cannot open {}: {}", scratch, env.error().message());
    auto key_store = store::KeyStore::open(**env);
    if (!key_store) return fmt::format("cannot read the key store in {}: {}", scratch, key_store.error().message());
    if (auto put = key_store->put_records(records); !put) return fmt::format("cannot write {}: {}", scratch, put.error().message());
    if (::mkdir(out.c_str(), 0700) != 0) return fmt::format("cannot create {}: {}", out, errno_text(errno));
    if (auto copied = (*env)->copy_to(out); !copied) return fmt::format("cannot compact {}: {}", scratch, copied.error().message());
    if (auto synced = store::sync_copy(out); !synced) return fmt::format("cannot sync {}: {}", out, synced.error().message());
    return std::nullopt;
}

std::optional<std::string> replace_file(const std::string& from, const std::string& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) return fmt::format("cannot rename {}: {}", from, errno_text(errno));
    if (auto synced = store::sync_path(fs::path(to).parent_path().string()); !synced)
        return fmt::format("cannot sync the folder of {}", to);
    return std::nullopt;
}

std::optional<std::string> keys_digest(const std::string& dir, BackupFile& file) {
    file.path = std::string(backup_keys_folder) + "/" + std::string(backup_data_file);
    auto digest = crypto::sha256_file(dir + "/" + file.path, file.bytes);
    if (!digest) return fmt::format("cannot read {}: {}", file.path, digest.error().message());
    file.sha256 = *digest;
    return std::nullopt;
}

// A scrub stopped between its renames: the new manifest is in place once the key store it names
// is; otherwise it is dropped (the old manifest and key store still agree).
std::optional<std::string> finish_interrupted(const std::string& dir, const crypto::SecretBytes& backup_key,
                                              const crypto::MasterKey& master) {
    std::error_code ec;
    for (const char* leftover : {".in", ".out"}) fs::remove_all(dir + "/" + std::string(backup_keys_folder) + leftover, ec);
    const std::string next = dir + "/" + std::string(next_manifest_name);
    if (!fs::exists(next, ec)) return std::nullopt;
    std::string text;
    bool adopt = false;
    if (!read_small_file(next, backup_manifest_bytes_max, text)) {
        auto manifest = read_backup_manifest(text, backup_key, master.check);
        BackupFile now;
        if (auto* m = std::get_if<BackupManifest>(&manifest); m && !keys_digest(dir, now))
            adopt = std::any_of(m->files.begin(), m->files.end(), [&](const BackupFile& f) { return f == now; });
    }
    if (adopt) return replace_file(next, dir + "/" + std::string(backup_manifest_name));
    fs::remove(next, ec);
    return std::nullopt;
}

}  // namespace

bool key_shredded(const crypto::ScopeKeyRecord& record) {
    return !record.versions.empty() && std::none_of(record.versions.begin(), record.versions.end(), live);
}

Records retired_versions_kept(const Records& early, const Records& late) {
    const auto before = by_id(early);
    Records out;
    for (const crypto::ScopeKeyRecord& r : late) {
        auto it = before.find(r.key_id);
        if (it == before.end() || key_shredded(r)) continue;
        crypto::ScopeKeyRecord kept = r;
        bool changed = false;
        for (crypto::KeyVersion& v : kept.versions) {
            if (live(v)) continue;
            for (const crypto::KeyVersion& old : it->second->versions) {
                if (old.version != v.version || !live(old)) continue;
                v = old;
                v.state = crypto::KeyState::retiring;  // never active: the late copy has the active one
                changed = true;
            }
        }
        if (changed) out.push_back(std::move(kept));
    }
    return out;
}

Records shreds_missing(const Records& backup, const Records& live_records) {
    const auto now = by_id(live_records);
    Records out;
    for (const crypto::ScopeKeyRecord& r : backup) {
        auto it = now.find(r.key_id);
        if (it == now.end() || it->second->scope != r.scope || !key_shredded(*it->second)) continue;
        if (std::any_of(r.versions.begin(), r.versions.end(), live)) out.push_back(*it->second);
    }
    return out;
}

std::optional<std::string> merge_backup_keys(const std::string& keys_dir, const std::string& late_dir) {
    auto early = read_records(keys_dir);
    if (auto* wrong = std::get_if<std::string>(&early)) return *wrong;
    auto late = read_records(late_dir);
    if (auto* wrong = std::get_if<std::string>(&late)) return *wrong;
    const Records kept = retired_versions_kept(std::get<Records>(early), std::get<Records>(late));
    const std::string merged = late_dir + ".out";
    std::error_code ec;
    fs::remove_all(merged, ec);
    if (auto failed = rewrite_into(late_dir, kept, merged)) return failed;
    const std::string data = "/" + std::string(backup_data_file);
    if (auto failed = replace_file(merged + data, keys_dir + data)) return failed;
    fs::remove_all(merged, ec);
    fs::remove_all(late_dir, ec);
    fs::remove(keys_dir + "/lock.mdb", ec);
    return std::nullopt;
}

std::variant<std::size_t, std::string> scrub_backup_keys(const std::string& dir, const Records& live_records,
                                                         const crypto::MasterKey& master) {
    auto backup_key = derive_backup_key(master.material.view());
    if (!backup_key) return "cannot derive the backup key: " + backup_key.error().message();
    if (auto failed = finish_interrupted(dir, *backup_key, master)) return *failed;
    std::string text;
    if (auto failed = read_small_file(dir + "/" + std::string(backup_manifest_name), backup_manifest_bytes_max, text)) return *failed;
    auto read = read_backup_manifest(text, *backup_key, master.check);
    if (auto* wrong = std::get_if<std::string>(&read)) return "manifest: " + *wrong;
    BackupManifest manifest = std::move(std::get<BackupManifest>(read));
    BackupFile before;
    if (auto failed = keys_digest(dir, before)) return *failed;
    auto entry = std::find_if(manifest.files.begin(), manifest.files.end(), [&](const BackupFile& f) { return f.path == before.path; });
    // A key store that is not the manifest's is damaged or changed: leave it for verify to name.
    if (entry == manifest.files.end() || !(*entry == before)) return before.path + ": not the file the manifest lists";

    const std::string keys_dir = dir + "/" + std::string(backup_keys_folder);
    auto records = read_records(keys_dir);
    if (auto* wrong = std::get_if<std::string>(&records)) return *wrong;
    const Records shreds = shreds_missing(std::get<Records>(records), live_records);
    if (shreds.empty()) return std::size_t{0};

    // The backup's own file is never written: a compacted copy is, then renamed over it.
    const std::string scratch = keys_dir + ".in";
    const std::string out = keys_dir + ".out";
    if (::mkdir(scratch.c_str(), 0700) != 0) return fmt::format("cannot create {}: {}", scratch, errno_text(errno));
    {
        auto env = store::Env::open(keys_dir, options_for(keys_dir, store::EnvAccess::read_private));
        if (!env) return fmt::format("cannot open {}: {}", keys_dir, env.error().message());
        if (auto copied = (*env)->copy_to(scratch); !copied) return fmt::format("cannot copy {}: {}", keys_dir, copied.error().message());
    }
    if (auto failed = rewrite_into(scratch, shreds, out)) return *failed;
    *entry = {before.path, 0, {}};
    auto digest = crypto::sha256_file(out + "/" + std::string(backup_data_file), entry->bytes);
    if (!digest) return "cannot read the new key store: " + digest.error().message();
    entry->sha256 = *digest;
    auto sealed = write_backup_manifest(manifest, *backup_key);
    if (!sealed) return "cannot seal the manifest: " + sealed.error().message();
    // Manifest beside, key store in place, manifest in place: each step leaves a state
    // finish_interrupted() settles.
    if (auto failed = write_durably(dir + "/" + std::string(next_manifest_name), *sealed)) return *failed;
    if (auto failed = replace_file(out + "/" + std::string(backup_data_file), keys_dir + "/" + std::string(backup_data_file)))
        return *failed;
    if (auto failed = replace_file(dir + "/" + std::string(next_manifest_name), dir + "/" + std::string(backup_manifest_name)))
        return *failed;
    std::error_code ec;
    fs::remove_all(scratch, ec);
    fs::remove_all(out, ec);
    return shreds.size();
}

}  // namespace vmx
