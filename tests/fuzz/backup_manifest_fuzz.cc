// Fuzz target: a backup's manifest as read from disk (appliance/lifecycle/backup_manifest.h): the
// plain header, and the body as it would come out of the seal. Checks: an accepted body's files
// are relative paths inside the backup, within the bounds, listed once, and it writes back to the
// same manifest.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string_view>
#include <variant>

#include "appliance/lifecycle/backup_manifest.h"
#include "core/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    (void)vmx::read_backup_header(text);
    const auto body = vmx::parse_backup_manifest_body(text);
    if (!std::holds_alternative<vmx::BackupManifest>(body)) return 0;
    const auto& m = std::get<vmx::BackupManifest>(body);
    VMX_ASSERT(m.segments >= 1 && m.segments <= 4096 && m.files.size() <= vmx::backup_files_max);
    std::set<std::string> seen;
    for (const auto& f : m.files) {
        VMX_ASSERT(!f.path.empty() && f.path.size() <= vmx::backup_path_bytes_max && f.path.front() != '/');
        VMX_ASSERT(f.path.find("..") == std::string::npos || f.path.find("/../") == std::string::npos);
        VMX_ASSERT(f.path != ".." && !f.path.starts_with("../") && !f.path.ends_with("/.."));
        VMX_ASSERT(seen.insert(f.path).second);
    }
    auto key = vmx::crypto::SecretBytes::zeroed(32);
    std::memset(key.mutable_view().data(), 7, 32);
    auto written = vmx::write_backup_manifest(m, key);
    VMX_ASSERT(written.has_value());
    const auto back = vmx::read_backup_manifest(*written, key, m.master_check);
    VMX_ASSERT(std::holds_alternative<vmx::BackupManifest>(back));
    const auto& again = std::get<vmx::BackupManifest>(back);
    VMX_ASSERT(again.files == m.files && again.segments == m.segments && again.store_format == m.store_format);
    return 0;
}
