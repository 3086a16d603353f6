// A consistent, compacted copy of one LMDB environment, taken while its writer (another process,
// or this one) goes on: the copy reads one snapshot, registered in the lock file so the writer never
// reuses a page it sees (EnvAccess::read_shared). The copy's file is synced before this returns.
// Any thread; it blocks for as long as the copy takes.
#pragma once

#include <string>

#include "core/result.h"

namespace vmx::store {

// Copies the environment in folder `from` into the existing, empty folder `to` (to/data.mdb).
Result<void> copy_environment(const std::string& from, const std::string& to);

// fsync() of one file or folder by path.
Result<void> sync_path(const std::string& path);

// fsync() of a copy's data.mdb and of its folder (after Env::copy_to).
Result<void> sync_copy(const std::string& to);

}  // namespace vmx::store
