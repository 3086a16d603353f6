// Helpers for the store tests: a temporary folder on a real disk (fsync on tmpfs is free, and the
// crash test wants real files), byte conversions.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

}  // namespace vmx::store::testing
