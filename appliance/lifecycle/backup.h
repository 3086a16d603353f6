// Backups of a store: create, verify, restore, list. A backup is a folder:
//   meta                        the data folder's store metadata (format, segment count)
//   keys/data.mdb               the key store, kept apart so it can be stored apart from the data
//   global/{directory,audit}/data.mdb
//   <kind>/<ssss>/data.mdb      mail, temp, smtp-in, smtp-out of every segment
//   manifest                    every file's size and SHA-256, sealed (backup_manifest.h)
// Each environment is a compacted copy of one read snapshot, taken beside a serving daemon (see
// store/env_copy.h). Records are copied as they are stored, sealed: a backup holds no plaintext.
// verify proves the files are the ones the manifest lists and that every record opens under the
// backup's own key store; restore checks the same first and then rebuilds an empty data folder.
// Run by the CLI as root (or any process that can read the store); they block until done.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "appliance/lifecycle/backup_manifest.h"
#include "appliance/lifecycle/record_check.h"
#include "crypto/master_key.h"
#include "store/layout.h"

namespace vmx {

struct BackupProgress {
    std::string_view step;        // "copy", "digest", "check", "restore"
    std::string_view item;        // "mail/0003"
    std::size_t done_items = 0;
    std::size_t items = 0;
};
using BackupProgressFn = std::function<void(const BackupProgress&)>;

// Copies the environment of `role` into the existing, empty folder `to` (to/data.mdb, synced): the
// CLI opens each environment beside the daemon (store/env_copy.h), the daemon copies through the
// handles it holds (a process must not open an environment twice).
using CopyEnvironment = std::function<Result<void>(const EnvRole& role, const std::string& to)>;

// The CLI's copier: each environment opened read-only beside a serving daemon.
CopyEnvironment copy_beside_daemon(const store::StoreLayout& layout);

// A new backup's folder name in [backup] dir: "vaultmx-20261206T140000Z" (names sort by time).
std::string backup_folder_name(std::int64_t now_unix);

struct BackupCreated {
    std::size_t files = 0;
    std::uint64_t bytes = 0;
};

// Into `to`, which must not exist or be an empty folder (created 0700, its parent must exist),
// holding the parent's BackupLock throughout (waiting for it). Uses
// only the system calls the daemon's filter allows (no chmod, no copy_file_range). One line on failure.
// `meta` is the data folder's meta file (read_store_meta), read ahead by a caller that may not reach
// the data folder by path later (the daemon after its drop).
std::variant<BackupCreated, std::string> create_backup(const store::StoreLayout& layout, const CopyEnvironment& copy,
                                                       std::string_view meta, const crypto::MasterKey& master,
                                                       const std::string& to, std::int64_t now_unix,
                                                       const BackupProgressFn& progress);

// The data folder's meta file, or one line saying why it cannot be read.
std::variant<std::string, std::string> read_store_meta(const store::StoreLayout& layout);

struct BackupReport {
    std::vector<std::string> problems;  // empty: the backup is good
    std::size_t files = 0;
    std::uint64_t bytes = 0;
    std::uint64_t records = 0;    // sealed records (and body chunks) opened
    std::uint64_t shredded = 0;   // records of destroyed keys: unreadable by design
    std::optional<BackupManifest> manifest;
};

BackupReport verify_backup(const std::string& dir, const crypto::MasterKey& master, const BackupProgressFn& progress);

// Rebuilds the store of `data_dir` (and of kind paths outside it) from the backup in `dir`, after
// verify_backup found nothing wrong. Refused when any of those folders holds anything. One line on
// failure. Ownership is the caller's (the CLI hands the folders to the service user, as init does).
std::optional<std::string> restore_backup(const std::string& dir, const crypto::MasterKey& master,
                                          const std::string& data_dir, const store::StoreOptions& options,
                                          const BackupProgressFn& progress);

struct BackupListing {
    std::string dir;
    std::variant<BackupHeader, std::string> header;  // or why it is not a backup
    std::uint64_t bytes = 0;                          // of the folder's files
};

// The backups in `parent` (its sub-folders with a manifest, and those without, said so), by name.
std::vector<BackupListing> list_backups(const std::string& parent);

}  // namespace vmx
