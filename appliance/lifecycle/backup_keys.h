// A backup's key store (keys/data.mdb), kept apart from its data, and which keys it holds.
//   - At creation the key store is copied first and again last. The backup keeps the last copy,
//     with each version the first copy had live and the last one retired put back, unless the whole
//     key was shredded in between. So every record copied in between opens (a key or version made
//     since: in the last copy; a version a rotation retired since: put back), and a key shredded
//     meanwhile is not there.
//   - After a shredding, every finished backup in the folder of backups loses the shredded keys
//     (scrub_backup_keys), so restoring a backup made before a purge never brings the purged
//     user's mail back. A key backup outside that folder is the admin's to scrub.
// A rewrite is a compacted copy (no freed page keeps an old wrap) that replaces the file by rename;
// a scrub writes the new manifest beside the old one first, so a crash at any point leaves either
// the old backup or the new one, and the next scrub finishes or undoes the half-made step.
// No key is ever unwrapped here: the records are moved as stored. Any thread; callers hold the
// folder's BackupLock.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crypto/keyring.h"
#include "crypto/master_key.h"

namespace vmx {

// Every version destroyed: the key was shredded (a rotation always leaves one live version).
bool key_shredded(const crypto::ScopeKeyRecord& record);

// The records of `late` a backup must change: those with versions `early` had live and `late`
// retired (put back as they were in `early`), unless `late` shredded the key.
std::vector<crypto::ScopeKeyRecord> retired_versions_kept(const std::vector<crypto::ScopeKeyRecord>& early,
                                                          const std::vector<crypto::ScopeKeyRecord>& late);

// The records of `backup` whose key `live` has shredded while the backup still has a live version
// of it: as `live` has them (every version destroyed, nothing wrapped).
std::vector<crypto::ScopeKeyRecord> shreds_missing(const std::vector<crypto::ScopeKeyRecord>& backup,
                                                   const std::vector<crypto::ScopeKeyRecord>& live);

// At creation: `late_dir` holds the last copy of the key store; the merged store replaces
// keys_dir/data.mdb, and late_dir goes. One line on failure.
std::optional<std::string> merge_backup_keys(const std::string& keys_dir, const std::string& late_dir);

// Takes from the finished backup in `dir` every key `live` has shredded; how many it took (0: the
// backup's key store is left untouched). Finishes or undoes a scrub a crash interrupted first.
std::variant<std::size_t, std::string> scrub_backup_keys(const std::string& dir,
                                                         const std::vector<crypto::ScopeKeyRecord>& live,
                                                         const crypto::MasterKey& master);

}  // namespace vmx
