// crypto/self_signed_cert: the pair loads into wolfSSL and carries an in-memory TLS 1.3 handshake in
// which the client trusts the certificate itself and checks the host name; SAN, serial, dates and
// usages read back through wolfSSL's X509 API; files are created 0600/0644, never overwritten, and
// removed again when the call fails. No external tools: everything is checked with wolfSSL.
#include "tests/crypto/tls_pair.h"  // includes <wolfssl/options.h> first

#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "crypto/errc.h"
#include "crypto/self_signed_cert.h"

namespace vmx::crypto {
namespace {

using vmx::CFree;
using test::Pipe;
using test::SslCtxPtr;
using test::SslPtr;
using X509Ptr = std::unique_ptr<WOLFSSL_X509, CFree<wolfSSL_X509_free>>;

// wolfSSL_Init is reference-counted; each test holds one reference.
struct WolfSslLibrary {
    WolfSslLibrary() { wolfSSL_Init(); }
    ~WolfSslLibrary() { wolfSSL_Cleanup(); }
};

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/vmx-cert-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name) const { return path + "/" + name; }
    std::string path;
};

std::string text_of(const SecretBytes& bytes) { return {bytes.view().begin(), bytes.view().end()}; }

const unsigned char* bytes_of(const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); }

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
}

PemPair make(const SelfSignedRequest& request = {}) {
    auto pair = make_self_signed(request);
    EXPECT_TRUE(pair) << pair.error().message();
    return pair ? std::move(*pair) : PemPair{};
}

X509Ptr parse(const std::string& pem) {
    return X509Ptr(wolfSSL_X509_load_certificate_buffer(bytes_of(pem), static_cast<int>(pem.size()),
                                                        WOLFSSL_FILETYPE_PEM));
}

// A server context holding the pair; null if wolfSSL refuses the certificate, the key, or the match.
SslCtxPtr server_context(const std::string& cert_pem, const std::string& key_pem) {
    SslCtxPtr ctx(wolfSSL_CTX_new(wolfTLSv1_3_server_method()));
    if (!ctx ||
        wolfSSL_CTX_use_certificate_buffer(ctx.get(), bytes_of(cert_pem), static_cast<long>(cert_pem.size()),
                                           WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_use_PrivateKey_buffer(ctx.get(), bytes_of(key_pem), static_cast<long>(key_pem.size()),
                                          WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
        wolfSSL_CTX_check_private_key(ctx.get()) != WOLFSSL_SUCCESS) {
        return nullptr;
    }
    return ctx;
}

enum class Trust { the_certificate, nothing };

SslPtr session(WOLFSSL_CTX* ctx, Pipe& in, Pipe& out) {
    SslPtr ssl(wolfSSL_new(ctx));
    if (!ssl) return ssl;
    wolfSSL_SSLSetIORecv(ssl.get(), test::pipe_recv);
    wolfSSL_SSLSetIOSend(ssl.get(), test::pipe_send);
    wolfSSL_SetIOReadCtx(ssl.get(), &in);
    wolfSSL_SetIOWriteCtx(ssl.get(), &out);
    return ssl;
}

// True when the handshake call finished; a failure other than "waiting for the peer" sets `error`.
bool step(WOLFSSL* ssl, int ret, const char* side, std::string& error) {
    if (ret == WOLFSSL_SUCCESS) return true;
    if (!test::would_block(ssl, ret) && error.empty()) {
        error = std::string(side) + ": " + std::to_string(wolfSSL_get_error(ssl, ret));
    }
    return false;
}

// A TLS 1.3 handshake through in-memory pipes: the server presents the certificate and signs with
// the key, the client verifies it against `trust` and checks `host`. Empty on success, else what failed.
std::string handshake(const std::string& cert_pem, const std::string& key_pem, const char* host, Trust trust) {
    SslCtxPtr server_ctx = server_context(cert_pem, key_pem);
    SslCtxPtr client_ctx(wolfSSL_CTX_new(wolfTLSv1_3_client_method()));
    if (!server_ctx || !client_ctx) return "context";
    if (trust == Trust::the_certificate &&
        wolfSSL_CTX_load_verify_buffer(client_ctx.get(), bytes_of(cert_pem), static_cast<long>(cert_pem.size()),
                                       WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        return "wolfSSL_CTX_load_verify_buffer";
    }
    wolfSSL_CTX_set_verify(client_ctx.get(), WOLFSSL_VERIFY_PEER, nullptr);
    Pipe to_server;  // declared before the sessions that point at them
    Pipe to_client;
    SslPtr client = session(client_ctx.get(), to_client, to_server);
    SslPtr server = session(server_ctx.get(), to_server, to_client);
    if (!client || !server) return "wolfSSL_new";
    if (wolfSSL_check_domain_name(client.get(), host) != WOLFSSL_SUCCESS) return "wolfSSL_check_domain_name";
    bool client_done = false;
    bool server_done = false;
    std::string error;
    for (int round = 0; round < 64 && error.empty() && !(client_done && server_done); ++round) {
        if (!client_done) client_done = step(client.get(), wolfSSL_connect(client.get()), "client", error);
        if (!server_done) server_done = step(server.get(), wolfSSL_accept(server.get()), "server", error);
    }
    if (!error.empty()) return error;
    return client_done && server_done ? "" : "handshake did not finish";
}

std::string handshake(const PemPair& pair, const char* host, Trust trust) {
    return handshake(pair.certificate_pem, text_of(pair.key_pem), host, trust);
}

// What handshake() answers when the client stops with wolfSSL error `code`.
std::string client_error(int code) { return "client: " + std::to_string(code); }

// The SAN as "DNS:name" and "IP:hex" entries, sorted (wolfSSL lists them in reverse order).
std::vector<std::string> alt_names(WOLFSSL_X509* x509) {
    std::vector<std::string> out;
    auto* names = static_cast<WOLFSSL_GENERAL_NAMES*>(wolfSSL_X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr,
                                                                               nullptr));
    if (names == nullptr) return out;
    for (int i = 0; i < wolfSSL_sk_GENERAL_NAME_num(names); ++i) {
        WOLFSSL_GENERAL_NAME* name = wolfSSL_sk_GENERAL_NAME_value(names, i);
        const unsigned char* data = wolfSSL_ASN1_STRING_get0_data(name->d.ia5);
        const auto size = static_cast<std::size_t>(wolfSSL_ASN1_STRING_length(name->d.ia5));
        if (name->type == ASN_DNS_TYPE) {
            out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(data), size));
        } else if (name->type == ASN_IP_TYPE) {
            static constexpr char digits[] = "0123456789abcdef";
            std::string hex = "IP:";
            for (std::size_t b = 0; b < size; ++b) {
                hex.push_back(digits[data[b] >> 4]);
                hex.push_back(digits[data[b] & 0xf]);
            }
            out.push_back(hex);
        } else {
            out.push_back("other:" + std::to_string(name->type));
        }
    }
    wolfSSL_GENERAL_NAMES_free(names);
    std::sort(out.begin(), out.end());
    return out;
}

std::time_t time_of(const WOLFSSL_ASN1_TIME* time) {
    std::tm tm{};
    if (wolfSSL_ASN1_TIME_to_tm(time, &tm) != WOLFSSL_SUCCESS) return 0;
    return timegm(&tm);
}

std::vector<std::uint8_t> serial_of(WOLFSSL_X509* x509) {
    std::vector<std::uint8_t> serial(32);
    int size = static_cast<int>(serial.size());
    if (wolfSSL_X509_get_serial_number(x509, serial.data(), &size) != WOLFSSL_SUCCESS) return {};
    serial.resize(static_cast<std::size_t>(size));
    return serial;
}

// --- the pair ---------------------------------------------------------------------------------

TEST(SelfSignedCert, PemPairHasTheExpectedArmour) {
    const PemPair pair = make();
    EXPECT_EQ(pair.certificate_pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
    EXPECT_NE(pair.certificate_pem.find("-----END CERTIFICATE-----"), std::string::npos);
    const std::string key = text_of(pair.key_pem);
    EXPECT_EQ(key.rfind("-----BEGIN EC PRIVATE KEY-----\n", 0), 0u);
    EXPECT_NE(key.find("-----END EC PRIVATE KEY-----"), std::string::npos);
}

TEST(SelfSignedCert, LoadsIntoAWolfSslContextAndTheKeyMatches) {
    WolfSslLibrary library;
    const PemPair pair = make();
    EXPECT_NE(server_context(pair.certificate_pem, text_of(pair.key_pem)), nullptr);
}

// wolfSSL 5.5.4's wolfSSL_CTX_check_private_key accepts another P-256 key for this certificate (it
// does not compare the public point), so the mismatch is shown where it bites: the client rejects
// the CertificateVerify signature.
TEST(SelfSignedCert, KeyOfAnotherPairFailsTheHandshake) {
    WolfSslLibrary library;
    const PemPair pair = make();
    const PemPair other = make();
    EXPECT_EQ(handshake(pair.certificate_pem, text_of(other.key_pem), "localhost", Trust::the_certificate),
              client_error(VERIFY_SIGN_ERROR));
}

TEST(SelfSignedCert, Tls13HandshakeVerifiesItAgainstItselfForLocalhost) {
    WolfSslLibrary library;
    const PemPair pair = make();
    EXPECT_EQ(handshake(pair, "localhost", Trust::the_certificate), "");
}

TEST(SelfSignedCert, HandshakeFailsForAnotherHostOrWithoutTrust) {
    WolfSslLibrary library;
    const PemPair pair = make();
    EXPECT_EQ(handshake(pair, "example.com", Trust::the_certificate), client_error(DOMAIN_NAME_MISMATCH));
    EXPECT_EQ(handshake(pair, "localhost", Trust::nothing), client_error(ASN_SELF_SIGNED_E));
}

TEST(SelfSignedCert, HostNameIsMatchedThroughTheSanNotTheCommonName) {
    WolfSslLibrary library;
    SelfSignedRequest request;
    request.common_name = "vaultmx";
    request.dns_names = {"mail.example.org", "mx.example.org"};
    request.ip_addresses = {};
    const PemPair pair = make(request);
    EXPECT_EQ(handshake(pair, "mx.example.org", Trust::the_certificate), "");
    EXPECT_EQ(handshake(pair, "mail.example.org", Trust::the_certificate), "");
    EXPECT_EQ(handshake(pair, "localhost", Trust::the_certificate), client_error(DOMAIN_NAME_MISMATCH));
}

TEST(SelfSignedCert, SanHoldsLocalhostAnd127001ByDefault) {
    WolfSslLibrary library;
    const PemPair pair = make();
    X509Ptr x509 = parse(pair.certificate_pem);
    ASSERT_NE(x509, nullptr);
    EXPECT_EQ(alt_names(x509.get()), (std::vector<std::string>{"DNS:localhost", "IP:7f000001"}));
    EXPECT_EQ(wolfSSL_X509_check_host(x509.get(), "localhost", 9, 0, nullptr), WOLFSSL_SUCCESS);
    EXPECT_EQ(wolfSSL_X509_check_ip_asc(x509.get(), "127.0.0.1", 0), WOLFSSL_SUCCESS);
    EXPECT_NE(wolfSSL_X509_check_ip_asc(x509.get(), "127.0.0.2", 0), WOLFSSL_SUCCESS);
    char cn[64] = {};
    ASSERT_GT(wolfSSL_X509_NAME_get_text_by_NID(wolfSSL_X509_get_subject_name(x509.get()), NID_commonName, cn,
                                                sizeof cn), 0);
    EXPECT_STREQ(cn, "localhost");
}

TEST(SelfSignedCert, SanWithManyAndLongNamesAndIpv6) {
    WolfSslLibrary library;
    const std::string label63(63, 'a');
    const std::string long_name = label63 + "." + label63 + "." + label63 + ".example";  // 200 bytes
    SelfSignedRequest request;
    request.dns_names = {"localhost", "Mail.Example.org", long_name};
    request.ip_addresses = {"127.0.0.1", "::1", "2001:db8::25"};
    const PemPair pair = make(request);
    X509Ptr x509 = parse(pair.certificate_pem);
    ASSERT_NE(x509, nullptr);
    EXPECT_EQ(alt_names(x509.get()),
              (std::vector<std::string>{"DNS:Mail.Example.org", "DNS:" + long_name, "DNS:localhost",
                                        "IP:00000000000000000000000000000001",
                                        "IP:20010db8000000000000000000000025", "IP:7f000001"}));
    EXPECT_EQ(handshake(pair, long_name.c_str(), Trust::the_certificate), "");
}

TEST(SelfSignedCert, EcdsaP256SignedWithSha256NotACaServerAuth) {
    WolfSslLibrary library;
    const PemPair pair = make();
    X509Ptr x509 = parse(pair.certificate_pem);
    ASSERT_NE(x509, nullptr);
    EXPECT_EQ(wolfSSL_X509_get_signature_type(x509.get()), CTC_SHA256wECDSA);
    EXPECT_EQ(wolfSSL_X509_get_pubkey_type(x509.get()), ECDSAk);
    EXPECT_EQ(wolfSSL_X509_get_isCA(x509.get()), 0);
    EXPECT_GE(wolfSSL_X509_get_ext_by_NID(x509.get(), NID_basic_constraints, -1), 0);  // present, cA FALSE
    EXPECT_EQ(wolfSSL_X509_get_keyUsage(x509.get()), static_cast<unsigned>(KEYUSE_DIGITAL_SIG));
    constexpr unsigned xku_ssl_server = 0x1;  // the X509 API reports OpenSSL's XKU_* bits
    EXPECT_EQ(wolfSSL_X509_get_extended_key_usage(x509.get()), xku_ssl_server);
    EXPECT_EQ(wolfSSL_X509_get_version(x509.get()), 2);  // zero-based, as in OpenSSL: X.509 v3
}

TEST(SelfSignedCert, ValidFromMinutesAgoForExactlyDaysValid) {
    WolfSslLibrary library;
    for (const std::uint32_t days : {1u, 825u, self_signed_days_max}) {
        SelfSignedRequest request;
        request.days_valid = days;
        const std::time_t now = std::time(nullptr);
        const PemPair pair = make(request);
        X509Ptr x509 = parse(pair.certificate_pem);
        ASSERT_NE(x509, nullptr);
        const std::time_t not_before = time_of(wolfSSL_X509_get_notBefore(x509.get()));
        const std::time_t not_after = time_of(wolfSSL_X509_get_notAfter(x509.get()));
        EXPECT_LE(not_before, now - 4 * 60) << days;
        EXPECT_GE(not_before, now - 6 * 60) << days;
        EXPECT_EQ(not_after - not_before, static_cast<std::time_t>(days) * 86400) << days;
    }
}

TEST(SelfSignedCert, TwoCallsGiveDifferentKeysAndSerials) {
    WolfSslLibrary library;
    const PemPair a = make();
    const PemPair b = make();
    EXPECT_NE(text_of(a.key_pem), text_of(b.key_pem));
    X509Ptr xa = parse(a.certificate_pem);
    X509Ptr xb = parse(b.certificate_pem);
    ASSERT_NE(xa, nullptr);
    ASSERT_NE(xb, nullptr);
    const auto serial_a = serial_of(xa.get());
    const auto serial_b = serial_of(xb.get());
    ASSERT_EQ(serial_a.size(), 16u);
    ASSERT_EQ(serial_b.size(), 16u);
    EXPECT_EQ(serial_a[0] & 0x80, 0);  // positive
    EXPECT_NE(serial_a, serial_b);
    unsigned char key_a[128];
    unsigned char key_b[128];
    int size_a = sizeof key_a;
    int size_b = sizeof key_b;
    ASSERT_EQ(wolfSSL_X509_get_pubkey_buffer(xa.get(), key_a, &size_a), WOLFSSL_SUCCESS);
    ASSERT_EQ(wolfSSL_X509_get_pubkey_buffer(xb.get(), key_b, &size_b), WOLFSSL_SUCCESS);
    EXPECT_NE(std::string(reinterpret_cast<char*>(key_a), static_cast<std::size_t>(size_a)),
              std::string(reinterpret_cast<char*>(key_b), static_cast<std::size_t>(size_b)));
}

// --- refused requests -------------------------------------------------------------------------

void expect_refused(const SelfSignedRequest& request, const std::string& what) {
    auto pair = make_self_signed(request);
    ASSERT_FALSE(pair) << what;
    EXPECT_EQ(pair.error(), CryptoErrc::invalid_argument) << what;
}

TEST(SelfSignedCert, RefusesBadDnsNames) {
    const std::string label64(64, 'a');
    const std::string name254 = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                                "." + std::string(62, 'd');
    ASSERT_EQ(name254.size(), 254u);
    for (const std::string& bad : {std::string("local host"), std::string("*.example.com"), std::string("exa_mple.com"),
                                  std::string(""), std::string(".localhost"), std::string("localhost."),
                                  std::string("a..b"), std::string("-mail.example"), std::string("mail-.example"),
                                  label64 + ".example", name254, std::string("m\xc3\xa4il.example"),
                                  std::string("local\0host", 10), std::string("localhost\n")}) {
        SelfSignedRequest request;
        request.dns_names = {"localhost", bad};
        expect_refused(request, "dns name '" + bad + "'");
    }
}

TEST(SelfSignedCert, RefusesBadIpAddresses) {
    for (const std::string& bad : {std::string("127.0.0.256"), std::string("localhost"), std::string("1.2.3"),
                                  std::string("::g"), std::string("fe80::1%eth0"), std::string(""),
                                  std::string("127.0.0.1\0junk", 14), std::string(" 127.0.0.1")}) {
        SelfSignedRequest request;
        request.ip_addresses = {bad};
        expect_refused(request, "ip '" + bad + "'");
    }
}

TEST(SelfSignedCert, RefusesBadCommonNamesValidityAndNameCounts) {
    SelfSignedRequest request;
    request.common_name = "";
    expect_refused(request, "empty CN");
    request.common_name = "bad name";
    expect_refused(request, "CN with a space");
    request.common_name = std::string(64, 'a');
    expect_refused(request, "CN of 64 bytes");

    request = {};
    request.days_valid = 0;
    expect_refused(request, "0 days");
    request.days_valid = self_signed_days_max + 1;
    expect_refused(request, "too many days");

    request = {};
    request.dns_names = {};
    request.ip_addresses = {};
    expect_refused(request, "no names");
    request.dns_names.assign(self_signed_alt_names_max, "localhost");
    request.ip_addresses = {"127.0.0.1"};
    expect_refused(request, "too many names");
}

TEST(SelfSignedCert, AcceptsNamesAtTheirLimits) {
    SelfSignedRequest request;
    request.common_name = std::string(63, 'c');
    request.dns_names = {std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                         std::string(61, 'd')};  // 253 bytes
    request.ip_addresses.assign(self_signed_alt_names_max - 1, "::ffff:192.0.2.1");
    EXPECT_TRUE(make_self_signed(request));
}

// --- files ------------------------------------------------------------------------------------

TEST(SelfSignedCertFiles, WritesKey0600AndCertificate0644ThatLoad) {
    WolfSslLibrary library;
    TempDir dir;
    const auto cert = dir.file("cert.pem");
    const auto key = dir.file("key.pem");
    auto written = write_self_signed({}, cert, key);
    ASSERT_TRUE(written) << written.error().message();
    EXPECT_EQ(mode_of(key), 0600u);
    EXPECT_EQ(mode_of(cert), 0644u);
    EXPECT_NE(server_context(read_file(cert), read_file(key)), nullptr);
}

TEST(SelfSignedCertFiles, ModesDoNotDependOnTheUmask) {
    TempDir dir;
    const mode_t old = ::umask(077);
    auto written = write_self_signed({}, dir.file("cert.pem"), dir.file("key.pem"));
    ::umask(old);
    ASSERT_TRUE(written) << written.error().message();
    EXPECT_EQ(mode_of(dir.file("key.pem")), 0600u);
    EXPECT_EQ(mode_of(dir.file("cert.pem")), 0644u);
}

TEST(SelfSignedCertFiles, NeverOverwritesAndWritesNothingWhenEitherExists) {
    TempDir dir;
    const auto cert = dir.file("cert.pem");
    const auto key = dir.file("key.pem");
    std::ofstream(key) << "old key";
    auto again = write_self_signed({}, cert, key);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::file_exists);
    EXPECT_EQ(read_file(key), "old key");
    EXPECT_FALSE(std::filesystem::exists(cert));

    std::filesystem::remove(key);
    std::ofstream(cert) << "old cert";
    again = write_self_signed({}, cert, key);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::file_exists);
    EXPECT_EQ(read_file(cert), "old cert");
    EXPECT_FALSE(std::filesystem::exists(key));

    std::ofstream(key) << "old key";
    again = write_self_signed({}, cert, key);
    ASSERT_FALSE(again);
    EXPECT_EQ(read_file(key), "old key");
    EXPECT_EQ(read_file(cert), "old cert");
}

TEST(SelfSignedCertFiles, SecondCallOnTheSamePathsChangesNothing) {
    TempDir dir;
    const auto cert = dir.file("cert.pem");
    const auto key = dir.file("key.pem");
    ASSERT_TRUE(write_self_signed({}, cert, key));
    const std::string first_cert = read_file(cert);
    const std::string first_key = read_file(key);
    auto again = write_self_signed({}, cert, key);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), std::errc::file_exists);
    EXPECT_EQ(read_file(cert), first_cert);
    EXPECT_EQ(read_file(key), first_key);
}

TEST(SelfSignedCertFiles, DoesNotFollowADanglingSymlink) {
    TempDir dir;
    const auto target = dir.file("elsewhere");
    const auto key = dir.file("key.pem");
    std::filesystem::create_symlink(target, key);
    auto written = write_self_signed({}, dir.file("cert.pem"), key);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error(), std::errc::file_exists);
    EXPECT_FALSE(std::filesystem::exists(target));
    EXPECT_FALSE(std::filesystem::exists(dir.file("cert.pem")));
}

TEST(SelfSignedCertFiles, RemovesTheKeyWhenTheCertificateCannotBeCreated) {
    TempDir dir;
    const auto key = dir.file("key.pem");
    auto written = write_self_signed({}, dir.file("missing/cert.pem"), key);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error(), std::errc::no_such_file_or_directory);
    EXPECT_FALSE(std::filesystem::exists(key));
}

TEST(SelfSignedCertFiles, InvalidRequestOrSamePathCreatesNothing) {
    TempDir dir;
    const auto cert = dir.file("cert.pem");
    const auto key = dir.file("key.pem");
    SelfSignedRequest request;
    request.dns_names = {"bad name"};
    auto written = write_self_signed(request, cert, key);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error(), CryptoErrc::invalid_argument);
    written = write_self_signed({}, key, key);
    ASSERT_FALSE(written);
    EXPECT_EQ(written.error(), CryptoErrc::invalid_argument);
    EXPECT_TRUE(std::filesystem::is_empty(dir.path));
}

}  // namespace
}  // namespace vmx::crypto
