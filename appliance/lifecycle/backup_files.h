// The small file steps every backup writer shares: a whole file written durably (synced, renamed
// into place, its folder synced), a bounded read of a small file, and errno as text. Any thread;
// only system calls the daemon's filter allows.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vmx {

// Names inside a backup folder.
inline constexpr std::string_view backup_manifest_name = "manifest";
inline constexpr std::string_view backup_keys_folder = "keys";
inline constexpr std::string_view backup_data_file = "data.mdb";

std::string errno_text(int error);

// Writes `bytes` to path.part (0600), syncs it, renames it to path and syncs the folder.
std::optional<std::string> write_durably(const std::string& path, std::string_view bytes);

// The whole file into `out`, refused past bytes_max.
std::optional<std::string> read_small_file(const std::string& path, std::size_t bytes_max, std::string& out);

}  // namespace vmx
