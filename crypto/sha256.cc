// SHA-256 over wolfCrypt (see sha256.h).
#include "crypto/sha256.h"

#include <fcntl.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <cerrno>
#include <vector>

#include "crypto/errc.h"

namespace vmx::crypto {

struct Sha256::State {
    wc_Sha256 sha{};
};

Sha256::Sha256() : state_(std::make_unique<State>()) { failed_ = wc_InitSha256(&state_->sha) != 0; }

Sha256::~Sha256() { wc_Sha256Free(&state_->sha); }

void Sha256::update(std::span<const std::uint8_t> bytes) {
    // wolfCrypt takes 32-bit lengths: feed large spans in pieces.
    constexpr std::size_t piece = std::size_t{1} << 30;
    while (!failed_ && !bytes.empty()) {
        const std::size_t n = std::min(bytes.size(), piece);
        failed_ = wc_Sha256Update(&state_->sha, bytes.data(), static_cast<word32>(n)) != 0;
        bytes = bytes.subspan(n);
    }
}

Result<Sha256Digest> Sha256::finish() {
    Sha256Digest out{};
    if (failed_ || wc_Sha256Final(&state_->sha, out.data()) != 0) return fail(CryptoErrc::invalid_argument);
    failed_ = true;  // once only
    return out;
}

Result<Sha256Digest> sha256_file(const std::string& path, std::uint64_t& bytes) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail_errno(errno);
    std::vector<std::uint8_t> block(std::size_t{4} << 20);
    Sha256 sha;
    bytes = 0;
    for (;;) {
        const ssize_t n = ::read(fd, block.data(), block.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int error = errno;
            ::close(fd);
            return fail_errno(error);
        }
        if (n == 0) break;
        sha.update(std::span<const std::uint8_t>(block.data(), static_cast<std::size_t>(n)));
        bytes += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    return sha.finish();
}

}  // namespace vmx::crypto
