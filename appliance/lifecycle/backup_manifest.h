// A backup's manifest: what the backup holds (each file's path, size and SHA-256), the formats it
// was written in, and the fingerprint of the master key it was made under. Written as a short
// plain header (format, creation time, the master-key fingerprint: nothing secret, so `backup list`
// and a restore under the wrong key can say what they see) followed by the body sealed under a
// backup key derived from the master key and bound to the creation time. A changed byte anywhere
// in the body, or a header that disagrees with it, fails to open. Pure; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "crypto/secret_bytes.h"

namespace vmx {

inline constexpr std::uint32_t backup_format_version = 1;
inline constexpr std::size_t backup_files_max = 4 * 4096 + 16;     // four kinds per segment, globals, meta
inline constexpr std::size_t backup_manifest_bytes_max = std::size_t{4} << 20;
inline constexpr std::size_t backup_path_bytes_max = 64;

struct BackupFile {
    std::string path;               // relative to the backup folder: "mail/0003/data.mdb"
    std::uint64_t bytes = 0;
    std::array<std::uint8_t, 32> sha256{};
    friend bool operator==(const BackupFile&, const BackupFile&) = default;
};

struct BackupManifest {
    std::uint32_t format = backup_format_version;
    std::uint32_t store_format = 0;
    std::uint32_t segments = 0;
    std::int64_t created_unix = 0;
    std::array<std::uint8_t, 16> master_check{};  // crypto::MasterKey::check of the key it was made under
    std::vector<BackupFile> files;
    friend bool operator==(const BackupManifest&, const BackupManifest&) = default;
};

// What the plain header says, readable without any key.
struct BackupHeader {
    std::uint32_t format = 0;
    std::int64_t created_unix = 0;
    std::array<std::uint8_t, 16> master_check{};
};

// The key that seals manifests, from the master key material.
Result<crypto::SecretBytes> derive_backup_key(std::span<const std::uint8_t> master_key);

// The opened body alone (what the seal holds), or a sentence; for tests and the fuzz target.
std::variant<BackupManifest, std::string> parse_backup_manifest_body(std::string_view body);

// The manifest file's bytes. Fails only if sealing fails.
Result<std::string> write_backup_manifest(const BackupManifest& manifest, const crypto::SecretBytes& backup_key);

// The header alone, or a sentence saying why the file is not a manifest.
std::variant<BackupHeader, std::string> read_backup_header(std::string_view file);

// The whole manifest, or a sentence: not a manifest, made under another master key (the header's
// fingerprint is not `master_check`), damaged (the seal does not open, or the body is malformed or
// over a limit, or disagrees with the header).
std::variant<BackupManifest, std::string> read_backup_manifest(std::string_view file, const crypto::SecretBytes& backup_key,
                                                               const std::array<std::uint8_t, 16>& master_check);

}  // namespace vmx
