// Environment copies (see env_copy.h).
#include "store/env_copy.h"

#include <fcntl.h>
#include <lmdb.h>
#include <unistd.h>

#include <cerrno>

#include "store/lmdb.h"

namespace vmx::store {

Result<void> sync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(errno);
    const int rc = ::fsync(fd);
    const int error = errno;
    ::close(fd);
    if (rc != 0) return fail_errno(error);
    return {};
}

Result<void> sync_copy(const std::string& to) {
    if (auto synced = sync_path(to + "/data.mdb"); !synced) return synced;
    return sync_path(to);
}

Result<void> copy_environment(const std::string& from, const std::string& to) {
    EnvOptions options;
    options.access = EnvAccess::read_shared;
    options.map_bytes = options.map_bytes_max = std::size_t{1} << 20;  // the file's own map size wins
    auto env = Env::open(from, options);
    if (!env) return fail(env.error());
    int rc = mdb_env_copy2((*env)->raw(), to.c_str(), MDB_CP_COMPACT);
    if (rc == MDB_MAP_RESIZED) {
        // The writer grew the map since we opened: take its size and try once more.
        if (mdb_env_set_mapsize((*env)->raw(), 0) == 0) rc = mdb_env_copy2((*env)->raw(), to.c_str(), MDB_CP_COMPACT);
    }
    if (rc != 0) return fail(lmdb_error(rc));
    return sync_copy(to);
}

}  // namespace vmx::store
