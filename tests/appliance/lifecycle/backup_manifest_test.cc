// A backup's manifest: the round trip, the header alone, another master key, a changed byte
// anywhere, a header that disagrees with the sealed body, and malformed or hostile bodies.
#include "appliance/lifecycle/backup_manifest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace vmx {
namespace {

crypto::SecretBytes key_of(std::uint8_t fill) {
    auto key = crypto::SecretBytes::zeroed(32);
    std::memset(key.mutable_view().data(), fill, 32);
    return key;
}

BackupManifest sample() {
    BackupManifest m;
    m.store_format = 1;
    m.segments = 2;
    m.created_unix = 1796551418;
    m.master_check.fill(0xab);
    m.files.push_back({"keys/data.mdb", 65536, {}});
    m.files.push_back({"mail/0001/data.mdb", 1u << 30, {}});
    m.files[1].sha256.fill(0x5c);
    return m;
}

template <class T>
std::string message_of(const std::variant<T, std::string>& r) {
    return std::holds_alternative<std::string>(r) ? std::get<std::string>(r) : std::string("accepted");
}

TEST(BackupManifest, RoundTripsAndTheHeaderReadsWithoutAKey) {
    const auto key = key_of(1);
    auto text = write_backup_manifest(sample(), key);
    ASSERT_TRUE(text);
    EXPECT_EQ(text->find("mail/0001"), std::string::npos);  // the file list is sealed
    auto header = read_backup_header(*text);
    ASSERT_TRUE(std::holds_alternative<BackupHeader>(header));
    EXPECT_EQ(std::get<BackupHeader>(header).created_unix, 1796551418);
    auto back = read_backup_manifest(*text, key, sample().master_check);
    ASSERT_TRUE(std::holds_alternative<BackupManifest>(back)) << message_of(back);
    EXPECT_EQ(std::get<BackupManifest>(back), sample());
}

TEST(BackupManifest, AnotherMasterKeyOrAChangedByteIsSaid) {
    const auto key = key_of(1);
    const std::string text = *write_backup_manifest(sample(), key);
    std::array<std::uint8_t, 16> other{};
    EXPECT_NE(message_of(read_backup_manifest(text, key, other)).find("made under another master key"), std::string::npos);
    EXPECT_EQ(message_of(read_backup_manifest(text, key_of(2), sample().master_check)),
              "the manifest is damaged: its seal does not open");
    for (std::size_t at = text.find("\n\n") + 2; at < text.size(); at += 7) {
        std::string changed = text;
        changed[at] = static_cast<char>(changed[at] ^ 0x10);
        EXPECT_EQ(message_of(read_backup_manifest(changed, key, sample().master_check)),
                  "the manifest is damaged: its seal does not open") << at;
    }
    // The creation time is bound to the seal: a header with another time does not open it.
    std::string moved = text;
    moved.replace(moved.find("created 1796551418"), 18, "created 1796551419");
    EXPECT_EQ(message_of(read_backup_manifest(moved, key, sample().master_check)),
              "the manifest is damaged: its seal does not open");
}

TEST(BackupManifest, HostileHeadersAndBodiesAreRefused) {
    for (const char* bad : {"", "vaultmx-backup 1\n", "vaultmx-backup x\ncreated 1\nmaster " "00000000000000000000000000000000\n\n",
                            "vaultmx-backup 1\ncreated -1\nmaster 00000000000000000000000000000000\n\n",
                            "vaultmx-backup 1\ncreated 1\nmaster 0000\n\n",
                            "vaultmx-backup 1\ncreated 1\nmaster 0000000000000000000000000000000G\n\n",
                            "other 1\ncreated 1\nmaster 00000000000000000000000000000000\n\n"})
        EXPECT_TRUE(std::holds_alternative<std::string>(read_backup_header(bad))) << bad;
    EXPECT_EQ(message_of(read_backup_header("vaultmx-backup 2\ncreated 1\nmaster 00000000000000000000000000000000\n\n")),
              "the backup is in format 2; this build reads format 1");
    const std::string sha(64, 'a');
    const std::string head = "store_format 1\nsegments 2\n";
    EXPECT_EQ(message_of(parse_backup_manifest_body(head + "file keys/data.mdb 1 " + sha + "\n")), "accepted");
    for (const std::string& bad :
         {std::string(""), std::string("store_format 1\nsegments 0\n"), std::string("store_format 1\nsegments 5000\n"),
          head + "file ../etc/passwd 1 " + sha + "\n", head + "file /abs 1 " + sha + "\n",
          head + "file a//b 1 " + sha + "\n", head + "file a/./b 1 " + sha + "\n", head + "file A 1 " + sha + "\n",
          head + "file a -1 " + sha + "\n", head + "file a 1 " + std::string(64, 'A') + "\n",
          head + "file a 1 " + sha, head + "file a 1 " + sha + "\nfile a 2 " + sha + "\n",
          head + "file " + std::string(65, 'a') + " 1 " + sha + "\n", head + "dir a\n",
          head + "file a 99999999999999999999 " + sha + "\n"})
        EXPECT_TRUE(std::holds_alternative<std::string>(parse_backup_manifest_body(bad))) << bad;
}

}  // namespace
}  // namespace vmx
