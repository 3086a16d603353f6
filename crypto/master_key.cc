#include "crypto/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "crypto/errc.h"
#include "crypto/hkdf.h"
#include "crypto/random.h"

namespace vmx::crypto {
namespace {

constexpr std::size_t key_file_bytes_max = 256;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

enum class ModeCheck : std::uint8_t {
    owner_only,   // a key file the admin manages: no access for group or others
    credential,   // systemd's credentials folder is private to the service, and systemd may grant the
                  // service's read access through an ACL that makes the mode look group-readable
};

// Reads at most key_file_bytes_max bytes into locked memory.
Result<SecretBytes> read_key_file(const std::string& path, ModeCheck check) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return fail_errno(errno);
    struct stat st {};
    if (fstat(fd, &st) < 0) {
        const int err = errno;
        ::close(fd);
        return fail_errno(err);
    }
    if (!S_ISREG(st.st_mode) || (check == ModeCheck::owner_only && (st.st_mode & 077) != 0)) {
        ::close(fd);
        return fail(CryptoErrc::key_file_insecure);
    }
    SecretBytes buffer = SecretBytes::zeroed(key_file_bytes_max + 1);
    std::size_t got = 0;
    auto out = buffer.mutable_view();
    while (got < out.size()) {
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return fail_errno(err);
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (got > key_file_bytes_max) return fail(CryptoErrc::key_file_invalid);
    return SecretBytes::copy_of(buffer.view().first(got));
}

Result<SecretBytes> decode_key(std::span<const std::uint8_t> content) {
    if (content.size() == master_key_bytes) return SecretBytes::copy_of(content);
    std::size_t length = content.size();
    if (length > 0 && content[length - 1] == '\n') --length;
    if (length != 2 * master_key_bytes) return fail(CryptoErrc::key_file_invalid);
    SecretBytes key = SecretBytes::zeroed(master_key_bytes);
    auto out = key.mutable_view();
    for (std::size_t i = 0; i < master_key_bytes; ++i) {
        const int hi = hex_value(static_cast<char>(content[2 * i]));
        const int lo = hex_value(static_cast<char>(content[2 * i + 1]));
        if (hi < 0 || lo < 0) return fail(CryptoErrc::key_file_invalid);
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return key;
}

Result<MasterKey> finish(Result<SecretBytes> content) {
    if (!content) return fail(content.error());
    auto material = decode_key(content->view());
    if (!material) return fail(material.error());
    auto check = master_key_check(material->view());
    if (!check) return fail(check.error());
    return MasterKey{std::move(*material), *check};
}

}  // namespace

Result<std::array<std::uint8_t, 16>> master_key_check(std::span<const std::uint8_t> material) {
    auto derived = hkdf_sha256(material, {}, "vaultmx master-key check v1", 16);
    if (!derived) return fail(derived.error());
    std::array<std::uint8_t, 16> out{};
    std::memcpy(out.data(), derived->view().data(), out.size());
    return out;
}

Result<MasterKey> load_master_key_file(const std::string& path) {
    return finish(read_key_file(path, ModeCheck::owner_only));
}

Result<MasterKey> load_master_key_credential(const std::string& name) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir) return fail_errno(ENOENT);
    return finish(read_key_file(std::string(dir) + "/" + name, ModeCheck::credential));
}

Result<void> generate_master_key_file(const std::string& path) {
    auto key = SecretBytes::random(master_key_bytes);
    if (!key) return fail(key.error());
    static constexpr char digits[] = "0123456789abcdef";
    SecretBytes text = SecretBytes::zeroed(2 * master_key_bytes + 1);
    auto out = text.mutable_view();
    for (std::size_t i = 0; i < master_key_bytes; ++i) {
        out[2 * i] = static_cast<std::uint8_t>(digits[key->view()[i] >> 4]);
        out[2 * i + 1] = static_cast<std::uint8_t>(digits[key->view()[i] & 0xf]);
    }
    out[2 * master_key_bytes] = '\n';
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return fail_errno(errno);
    std::size_t written = 0;
    while (written < out.size()) {
        const ssize_t n = ::write(fd, out.data() + written, out.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            const int err = n < 0 ? errno : EIO;
            ::close(fd);
            ::unlink(path.c_str());
            return fail_errno(err);
        }
        written += static_cast<std::size_t>(n);
    }
    // The key must be on disk before anything is sealed under it.
    if (fsync(fd) < 0) {
        const int err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return fail_errno(err);
    }
    ::close(fd);
    return {};
}

}  // namespace vmx::crypto
