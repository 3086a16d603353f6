// Self-signed certificates with wolfCrypt. Two fields we encode ourselves, because wolfSSL takes them
// ready-made: the SAN extension's GeneralNames (Cert::altNames) and the validity dates (so that they
// start minutes back, for clients whose clocks lag, and span exactly days_valid). Stateless; any thread.
// Invariants: every wolfCrypt object is owned by a unique_ptr; key DER and PEM live in SecretBytes.
#include "core/c_free.h"
#include "crypto/self_signed_cert.h"

// options.h first: it fixes the build configuration (and struct layouts) the other headers follow.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "crypto/errc.h"
#include "crypto/random.h"

#if !defined(WOLFSSL_CERT_GEN) || !defined(WOLFSSL_ALT_NAMES) || !defined(WOLFSSL_CERT_EXT) || !defined(HAVE_ECC)
#error "self-signed certificates need wolfSSL with WOLFSSL_CERT_GEN, WOLFSSL_ALT_NAMES, WOLFSSL_CERT_EXT, HAVE_ECC"
#endif

namespace vmx::crypto {
namespace {

constexpr std::time_t clock_skew_s = std::time_t{5} * 60;
constexpr std::time_t seconds_per_day = std::time_t{24} * 60 * 60;
constexpr std::size_t serial_bytes = 16;
constexpr std::size_t dns_label_bytes_max = 63;
constexpr std::size_t ecc_key_der_bytes_max = 256;   // a P-256 ECPrivateKey is 121 bytes
constexpr std::size_t cert_der_bytes_fixed = 2048;   // all of a certificate but its SAN (about 500)
constexpr int p256_key_bytes = 32;

// DER tags (X.690; RFC 5280 4.2.1.6 for the context-specific GeneralName choices).
constexpr std::uint8_t der_sequence = 0x30;
constexpr std::uint8_t der_utc_time = 0x17;
constexpr std::uint8_t der_generalized_time = 0x18;
constexpr std::uint8_t general_name_dns = 0x82;  // [2] IMPLICIT IA5String
constexpr std::uint8_t general_name_ip = 0x87;   // [7] IMPLICIT OCTET STRING

// Every name at its longest, with a 3-byte header each and a 4-byte SEQUENCE header, fits wolfSSL.
static_assert(self_signed_alt_names_max * (self_signed_dns_name_bytes_max + 3) + 4 <= CTC_MAX_ALT_SIZE);
static_assert(self_signed_common_name_bytes_max < CTC_NAME_SIZE);

using RngPtr = std::unique_ptr<WC_RNG, CFree<wc_rng_free>>;
using EccKeyPtr = std::unique_ptr<ecc_key, CFree<wc_ecc_key_free>>;
using CertPtr = std::unique_ptr<Cert, CFree<wc_CertFree>>;

// wolfCrypt's own codes (negative), with its strings as messages.
class WolfCryptCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "wolfcrypt"; }
    std::string message(int value) const override { return wc_GetErrorString(value); }
};

Unexpected<std::error_code> fail_wolfcrypt(int ret) {
    static const WolfCryptCategory category;
    return fail(std::error_code(ret < 0 ? ret : BAD_STATE_E, category));
}

// --- names ------------------------------------------------------------------------------------

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// [A-Za-z0-9.-] in dot-separated labels of 1 to 63 bytes that neither start nor end with '-'.
bool valid_host_name(std::string_view name, std::size_t bytes_max) {
    if (name.empty() || name.size() > bytes_max) return false;
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i < name.size() && name[i] != '.') {
            if (!is_label_char(name[i])) return false;
            continue;
        }
        const std::string_view label = name.substr(label_start, i - label_start);
        if (label.empty() || label.size() > dns_label_bytes_max || label.front() == '-' || label.back() == '-') {
            return false;
        }
        label_start = i + 1;
    }
    return true;
}

struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    std::size_t size = 0;  // 4 or 16

    std::span<const std::uint8_t> view() const { return {bytes.data(), size}; }
};

std::optional<IpAddress> parse_ip(const std::string& text) {
    if (text.find('\0') != std::string::npos) return std::nullopt;  // inet_pton would stop there
    IpAddress ip;
    if (inet_pton(AF_INET, text.c_str(), ip.bytes.data()) == 1) {
        ip.size = 4;
    } else if (inet_pton(AF_INET6, text.c_str(), ip.bytes.data()) == 1) {
        ip.size = 16;
    } else {
        return std::nullopt;
    }
    return ip;
}

void append_der_length(std::vector<std::uint8_t>& out, std::size_t length) {
    VMX_ASSERT(length <= 0xffff);  // bounded by CTC_MAX_ALT_SIZE (static_assert above)
    if (length >= 0x100) {
        out.push_back(0x82);
        out.push_back(static_cast<std::uint8_t>(length >> 8));
    } else if (length >= 0x80) {
        out.push_back(0x81);
    }
    out.push_back(static_cast<std::uint8_t>(length));
}

void append_der(std::vector<std::uint8_t>& out, std::uint8_t tag, std::span<const std::uint8_t> value) {
    out.push_back(tag);
    append_der_length(out, value.size());
    out.insert(out.end(), value.begin(), value.end());
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The SAN extension's value, GeneralNames ::= SEQUENCE OF GeneralName: dNSName then iPAddress entries.
Result<std::vector<std::uint8_t>> encode_alt_names(const SelfSignedRequest& request) {
    const std::size_t count = request.dns_names.size() + request.ip_addresses.size();
    if (count == 0 || count > self_signed_alt_names_max) return fail(CryptoErrc::invalid_argument);
    std::vector<std::uint8_t> names;
    for (const std::string& dns : request.dns_names) {
        if (!valid_host_name(dns, self_signed_dns_name_bytes_max)) return fail(CryptoErrc::invalid_argument);
        append_der(names, general_name_dns, bytes_of(dns));
    }
    for (const std::string& text : request.ip_addresses) {
        const auto ip = parse_ip(text);
        if (!ip) return fail(CryptoErrc::invalid_argument);
        append_der(names, general_name_ip, ip->view());
    }
    std::vector<std::uint8_t> general_names;
    append_der(general_names, der_sequence, names);
    return general_names;
}

Result<void> validate(const SelfSignedRequest& request) {
    if (!valid_host_name(request.common_name, self_signed_common_name_bytes_max)) {
        return fail(CryptoErrc::invalid_argument);
    }
    if (request.days_valid == 0 || request.days_valid > self_signed_days_max) return fail(CryptoErrc::invalid_argument);
    return {};
}

// --- certificate fields -----------------------------------------------------------------------

// A Time with its tag and length, the form wolfSSL copies into the certificate: UTCTime through
// 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5).
Result<int> encode_time(std::time_t t, std::span<std::uint8_t, CTC_DATE_SIZE> out) {
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return fail(CryptoErrc::invalid_argument);
    const bool utc_time = tm.tm_year + 1900 < 2050;
    char text[CTC_DATE_SIZE] = {};
    std::size_t length = std::strftime(text, sizeof text, "%Y%m%d%H%M%SZ", &tm);
    if (length != 15) return fail(CryptoErrc::invalid_argument);  // four-digit years only
    const char* start = text;
    if (utc_time) {  // YYMMDDHHMMSSZ
        start += 2;
        length -= 2;
    }
    out[0] = utc_time ? der_utc_time : der_generalized_time;
    out[1] = static_cast<std::uint8_t>(length);
    std::memcpy(out.data() + 2, start, length);
    return static_cast<int>(length + 2);
}

Result<void> set_validity(Cert& cert, std::uint32_t days_valid) {
    const std::time_t not_before = std::time(nullptr) - clock_skew_s;
    const std::time_t not_after = not_before + static_cast<std::time_t>(days_valid) * seconds_per_day;
    auto before = encode_time(not_before, cert.beforeDate);
    if (!before) return fail(before.error());
    auto after = encode_time(not_after, cert.afterDate);
    if (!after) return fail(after.error());
    cert.beforeDateSz = *before;  // both sizes set: wolfSSL copies these instead of using daysValid
    cert.afterDateSz = *after;
    cert.daysValid = static_cast<int>(days_valid);
    return {};
}

// 16 random bytes, the first with its top bit clear (a positive INTEGER) and its next bit set (no
// leading zero byte, so the DER stays 16 bytes long).
Result<void> set_serial(Cert& cert) {
    std::array<std::uint8_t, serial_bytes> serial{};
    if (auto ok = random_bytes(serial); !ok) return fail(ok.error());
    serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x40);
    std::memcpy(cert.serial, serial.data(), serial.size());
    cert.serialSz = static_cast<int>(serial.size());
    return {};
}

// Everything but the signature: names, SAN, serial, dates, key identifiers and usages.
Result<void> configure(Cert& cert, const SelfSignedRequest& request, const std::vector<std::uint8_t>& alt_names,
                       ecc_key& key) {
    cert.sigType = CTC_SHA256wECDSA;
    cert.selfSigned = 1;
    cert.isCA = 0;  // a server certificate: clients (Firefox) refuse a CA certificate as an end entity
    cert.basicConstSet = 1;  // and say so: basicConstraints cA FALSE
    std::memcpy(cert.subject.commonName, request.common_name.data(), request.common_name.size());
    std::memcpy(cert.altNames, alt_names.data(), alt_names.size());
    cert.altNamesSz = static_cast<int>(alt_names.size());
    if (auto ok = set_serial(cert); !ok) return ok;
    if (auto ok = set_validity(cert, request.days_valid); !ok) return ok;
    int ret = wc_SetSubjectKeyIdFromPublicKey_ex(&cert, ECC_TYPE, &key);
    if (ret == 0) ret = wc_SetAuthKeyIdFromPublicKey_ex(&cert, ECC_TYPE, &key);
    if (ret == 0) ret = wc_SetKeyUsage(&cert, "digitalSignature");
    if (ret == 0) ret = wc_SetExtKeyUsage(&cert, "serverAuth");
    if (ret != 0) return fail_wolfcrypt(ret);
    return {};
}

Result<std::vector<std::uint8_t>> make_certificate_der(const SelfSignedRequest& request,
                                                       const std::vector<std::uint8_t>& alt_names, ecc_key& key,
                                                       WC_RNG& rng) {
    CertPtr cert(wc_CertNew(nullptr));
    if (!cert) return fail_wolfcrypt(MEMORY_E);
    if (auto ok = configure(*cert, request, alt_names, key); !ok) return fail(ok.error());
    std::vector<std::uint8_t> der(cert_der_bytes_fixed + alt_names.size());
    const auto capacity = static_cast<word32>(der.size());
    const int body_bytes = wc_MakeCert(cert.get(), der.data(), capacity, nullptr, &key, &rng);
    if (body_bytes <= 0) return fail_wolfcrypt(body_bytes);
    const int der_bytes = wc_SignCert(body_bytes, CTC_SHA256wECDSA, der.data(), capacity, nullptr, &key, &rng);
    if (der_bytes <= 0) return fail_wolfcrypt(der_bytes);
    der.resize(static_cast<std::size_t>(der_bytes));
    return der;
}

// --- PEM --------------------------------------------------------------------------------------

// Base64 in 64-character lines, plus room for the BEGIN and END lines.
std::size_t pem_bytes_max(std::size_t der_bytes) {
    const std::size_t base64_bytes = (der_bytes + 2) / 3 * 4;
    return base64_bytes + base64_bytes / 64 + 1 + 128;
}

Result<std::string> certificate_pem(std::span<const std::uint8_t> der) {
    std::string pem(pem_bytes_max(der.size()), '\0');
    const int pem_bytes = wc_DerToPem(der.data(), static_cast<word32>(der.size()),
                                      reinterpret_cast<byte*>(pem.data()), static_cast<word32>(pem.size()), CERT_TYPE);
    if (pem_bytes <= 0) return fail_wolfcrypt(pem_bytes);
    pem.resize(static_cast<std::size_t>(pem_bytes));
    return pem;
}

// The private key as RFC 5915 PEM. The DER and the first PEM buffer are SecretBytes: wiped on return.
Result<SecretBytes> key_pem(ecc_key& key) {
    SecretBytes der = SecretBytes::zeroed(ecc_key_der_bytes_max);
    const int der_bytes = wc_EccKeyToDer(&key, der.mutable_view().data(), static_cast<word32>(der.size()));
    if (der_bytes <= 0) return fail_wolfcrypt(der_bytes);
    SecretBytes pem = SecretBytes::zeroed(pem_bytes_max(static_cast<std::size_t>(der_bytes)));
    const int pem_bytes = wc_DerToPem(der.view().data(), static_cast<word32>(der_bytes), pem.mutable_view().data(),
                                      static_cast<word32>(pem.size()), ECC_PRIVATEKEY_TYPE);
    if (pem_bytes <= 0) return fail_wolfcrypt(pem_bytes);
    return SecretBytes::copy_of(pem.view().first(static_cast<std::size_t>(pem_bytes)));
}

// --- files ------------------------------------------------------------------------------------

// A file this object created (O_EXCL): removed again in the destructor unless keep() was called.
class NewFile {
public:
    NewFile(std::string path, mode_t mode) : path_(std::move(path)) {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd_ < 0) {
            error_ = errno;
            return;
        }
        created_ = true;
        if (::fchmod(fd_, mode) < 0) error_ = errno;  // the exact mode, whatever the umask
    }
    ~NewFile() {
        if (fd_ >= 0) ::close(fd_);
        if (created_ && !kept_) ::unlink(path_.c_str());
    }
    NewFile(const NewFile&) = delete;
    NewFile& operator=(const NewFile&) = delete;

    Result<void> opened() const { return error_ == 0 ? Result<void>{} : fail_errno(error_); }

    // Writes everything, fsyncs and closes (a close error is an error too: NFS reports late).
    Result<void> write_synced(std::span<const std::uint8_t> bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return fail_errno(n < 0 ? errno : EIO);
            bytes = bytes.subspan(static_cast<std::size_t>(n));
        }
        if (::fsync(fd_) < 0) return fail_errno(errno);
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) < 0) return fail_errno(errno);
        return {};
    }

    void keep() { kept_ = true; }

private:
    std::string path_;
    int fd_ = -1;
    int error_ = 0;
    bool created_ = false;
    bool kept_ = false;
};

// Makes the new directory entry durable. EINVAL: a file system that cannot sync directories.
Result<void> sync_parent_directory(const std::string& path) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    const int fd = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_errno(errno);
    const int ret = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (ret < 0 && err != EINVAL) return fail_errno(err);
    return {};
}

bool path_exists(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;  // lstat: a dangling symlink counts as existing
}

}  // namespace

Result<PemPair> make_self_signed(const SelfSignedRequest& request) {
    if (auto ok = validate(request); !ok) return fail(ok.error());
    auto alt_names = encode_alt_names(request);
    if (!alt_names) return fail(alt_names.error());
    RngPtr rng(wc_rng_new(nullptr, 0, nullptr));
    if (!rng) return fail(CryptoErrc::random_failed);
    EccKeyPtr key(wc_ecc_key_new(nullptr));
    if (!key) return fail_wolfcrypt(MEMORY_E);
    if (const int ret = wc_ecc_make_key_ex(rng.get(), p256_key_bytes, key.get(), ECC_SECP256R1); ret != 0) {
        return fail_wolfcrypt(ret);
    }
    auto der = make_certificate_der(request, *alt_names, *key, *rng);
    if (!der) return fail(der.error());
    auto cert = certificate_pem(*der);
    if (!cert) return fail(cert.error());
    auto private_key = key_pem(*key);
    if (!private_key) return fail(private_key.error());
    return PemPair{std::move(*cert), std::move(*private_key)};
}

Result<void> write_self_signed(const SelfSignedRequest& request, const std::string& cert_path,
                               const std::string& key_path) {
    if (cert_path == key_path) return fail(CryptoErrc::invalid_argument);
    // Checked before the key is made; O_EXCL below still decides if another process races us.
    if (path_exists(key_path) || path_exists(cert_path)) return fail_errno(EEXIST);
    auto pair = make_self_signed(request);
    if (!pair) return fail(pair.error());
    NewFile key(key_path, 0600);
    if (auto ok = key.opened(); !ok) return ok;
    NewFile cert(cert_path, 0644);
    if (auto ok = cert.opened(); !ok) return ok;  // the key file is removed on the way out
    if (auto ok = key.write_synced(pair->key_pem.view()); !ok) return ok;
    if (auto ok = cert.write_synced(bytes_of(pair->certificate_pem)); !ok) return ok;
    if (auto ok = sync_parent_directory(key_path); !ok) return ok;
    if (auto ok = sync_parent_directory(cert_path); !ok) return ok;
    key.keep();
    cert.keep();
    return {};
}

}  // namespace vmx::crypto
