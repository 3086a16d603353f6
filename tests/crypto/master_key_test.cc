// The master key file: strict permissions, strict content, generated once, never overwritten.
#include "crypto/master_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "crypto/errc.h"

namespace vmx::crypto {
namespace {

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/vmx-mk-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name) const { return path + "/" + name; }
    std::string path;
};

void write(const std::string& path, const std::string& content, mode_t mode) {
    std::ofstream(path, std::ios::binary) << content;
    chmod(path.c_str(), mode);
}

TEST(MasterKey, GeneratedFileIsOwnerOnlyAndLoads) {
    TempDir dir;
    const auto path = dir.file("master.key");
    ASSERT_TRUE(generate_master_key_file(path));
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    auto key = load_master_key_file(path);
    ASSERT_TRUE(key) << key.error().message();
    EXPECT_EQ(key->material.size(), master_key_bytes);
}

TEST(MasterKey, NeverOverwritesAnExistingKey) {
    TempDir dir;
    const auto path = dir.file("master.key");
    ASSERT_TRUE(generate_master_key_file(path));
    auto first = load_master_key_file(path);
    ASSERT_TRUE(first);
    auto again = generate_master_key_file(path);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::file_exists);
    auto still = load_master_key_file(path);
    ASSERT_TRUE(still);
    EXPECT_EQ(still->check, first->check);
}

TEST(MasterKey, RefusesFilesReadableByGroupOrOthers) {
    TempDir dir;
    const auto path = dir.file("master.key");
    write(path, std::string(64, 'a') + "\n", 0600);
    ASSERT_TRUE(load_master_key_file(path));
    for (mode_t mode : {0640, 0604, 0660, 0644, 0606}) {
        chmod(path.c_str(), mode);
        auto r = load_master_key_file(path);
        ASSERT_FALSE(r) << std::oct << mode;
        EXPECT_EQ(r.error(), CryptoErrc::key_file_insecure);
    }
}

TEST(MasterKey, RefusesSymlinksAndMalformedContent) {
    TempDir dir;
    const auto real = dir.file("real.key");
    write(real, std::string(64, 'b'), 0600);
    const auto link = dir.file("link.key");
    ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
    EXPECT_FALSE(load_master_key_file(link));
    for (const std::string& bad : {std::string(63, 'a'), std::string(65, 'a'), std::string(64, 'g'),
                                   std::string(31, 'x'), std::string(), std::string(64, 'a') + "\n\n",
                                   std::string(1000, 'a')}) {
        const auto path = dir.file("bad.key");
        std::filesystem::remove(path);
        write(path, bad, 0600);
        auto r = load_master_key_file(path);
        ASSERT_FALSE(r) << bad.size();
        EXPECT_EQ(r.error(), CryptoErrc::key_file_invalid);
    }
}

TEST(MasterKey, RawAndHexFormsOfOneKeyAreTheSameKey) {
    TempDir dir;
    std::string raw(32, '\0');
    std::string hex;
    for (int i = 0; i < 32; ++i) {
        raw[static_cast<std::size_t>(i)] = static_cast<char>(i * 7 + 1);
        char two[3];
        std::snprintf(two, sizeof two, "%02x", static_cast<unsigned>(i * 7 + 1) & 0xffu);
        hex += two;
    }
    write(dir.file("raw.key"), raw, 0400);
    write(dir.file("hex.key"), hex + "\n", 0600);
    auto a = load_master_key_file(dir.file("raw.key"));
    auto b = load_master_key_file(dir.file("hex.key"));
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->check, b->check);
    EXPECT_TRUE(a->material.constant_time_equal(b->material.view()));
}

TEST(MasterKey, LoadsFromSystemdCredential) {
    TempDir dir;
    write(dir.file("master.key"), std::string(64, 'c'), 0400);
    setenv("CREDENTIALS_DIRECTORY", dir.path.c_str(), 1);
    auto key = load_master_key_credential("master.key");
    unsetenv("CREDENTIALS_DIRECTORY");
    ASSERT_TRUE(key);
    EXPECT_FALSE(load_master_key_credential("master.key"));  // variable unset: nothing to load
}

TEST(MasterKey, CredentialReadableThroughAGroupAclStillLoads) {
    // systemd may hand a credential over with a group-readable mode (an ACL on tmpfs); the folder
    // is private to the service, so only a key file the admin manages must be owner-only.
    TempDir dir;
    write(dir.file("master.key"), std::string(64, 'd'), 0440);
    setenv("CREDENTIALS_DIRECTORY", dir.path.c_str(), 1);
    auto key = load_master_key_credential("master.key");
    unsetenv("CREDENTIALS_DIRECTORY");
    EXPECT_TRUE(key);
    EXPECT_EQ(load_master_key_file(dir.file("master.key")).error(), CryptoErrc::key_file_insecure);
}

}  // namespace
}  // namespace vmx::crypto
