// Helpers for the store tests: a temporary folder on a real disk (fsync on tmpfs is free, and the
// crash test wants real files), byte conversions.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/lmdb.h"
#if VMX_TEST_ENV_OVER_SPACE
#include <random>

#include "store/lmdb_space.h"
#include "store/rados_layout.h"
#include "store/rados_space.h"
#endif

namespace vmx::store::testing {

class TempDir {
public:
    TempDir() {
        std::string pattern = std::filesystem::temp_directory_path().string() + "/vmx-store-XXXXXX";
        if (const char* base = std::getenv("VMX_STORE_TEST_DIR")) pattern = std::string(base) + "/vmx-store-XXXXXX";
        else if (std::filesystem::is_directory("/var/tmp")) pattern = "/var/tmp/vmx-store-XXXXXX";
        path_ = ::mkdtemp(pattern.data()) ? pattern : std::string();
    }
    ~TempDir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string sub(std::string_view name) const {
        std::string p = path_ + "/" + std::string(name);
        std::filesystem::create_directories(p);
        return p;
    }

private:
    std::string path_;
};

inline std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
inline std::string text(std::span<const std::uint8_t> b) { return {b.begin(), b.end()}; }

// The environment the store tests run on. In store_test, an LMDB environment; in store_space_test
// (built with VMX_TEST_ENV_OVER_SPACE), the same tests run on an environment over a space of the
// storage seam: an LmdbSpace in the folder, or, with VMX_CEPH_CONF set, a RADOS object named after
// the folder in a namespace of this run (integration.store_rados).
#if VMX_TEST_ENV_OVER_SPACE
// The run's spaces on the cluster of VMX_CEPH_CONF, in a namespace of their own (connects once).
inline SpaceOpener& test_spaces(const char* conf) {
    static SpaceOpener opener = rados_spaces(
        RadosOptions{conf, "vaultmx", "store-test-" + std::to_string(std::random_device{}()), 20});
    return opener;
}
inline std::string test_object(const std::string& path) { return "env" + std::to_string(std::hash<std::string>{}(path)); }
#endif

inline Result<std::unique_ptr<Env>> open_test_env(const std::string& path, const EnvOptions& options) {
#if VMX_TEST_ENV_OVER_SPACE
    if (const char* conf = std::getenv("VMX_CEPH_CONF")) {
        auto space = test_spaces(conf)(test_object(path));
        if (!space) return fail(space.error());
        return Env::over(std::move(*space), path);
    }
    EnvOptions o = options;
    o.map_bytes_max = std::max<std::size_t>(o.map_bytes_max, std::size_t{1} << 30);
    auto space = LmdbSpace::open(path, o);
    if (!space) return fail(space.error());
    return Env::over(std::move(*space), path);
#else
    return Env::open(path, options);
#endif
}

// Every byte the environment at `path` keeps in storage: its LMDB file, or its RADOS object's omap.
inline std::string stored_bytes(const std::string& path) {
#if VMX_TEST_ENV_OVER_SPACE
    if (const char* conf = std::getenv("VMX_CEPH_CONF")) {
        auto space = test_spaces(conf)(test_object(path));
        auto* rados = space ? dynamic_cast<RadosSpace*>(space->get()) : nullptr;
        if (rados == nullptr) return {};
        auto bytes = rados->stored_bytes();
        return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
    }
#endif
    std::ifstream in(path + "/data.mdb", std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace vmx::store::testing
