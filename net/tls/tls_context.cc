// TLS contexts: policy (versions, suites, groups), certificates, SNI selection and resumption set
// once on the main thread. After create() returns nothing here is written again, so the shards
// share the contexts read-only.
#include "net/tls/tls_context.h"

// options.h first: it fixes the build configuration (and struct layouts) the other headers follow.
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <algorithm>
#include <array>
#include <optional>
#include <span>
#include <cctype>
#include <cstring>
#include <ctime>
#include <string_view>

#include "core/c_free.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "crypto/secret_bytes.h"
#include "crypto/tls_crypto_device.h"
#include "net/errc.h"

namespace vmx::net {

const char* const tls_cipher_list =
    "TLS13-AES256-GCM-SHA384:TLS13-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

void WolfCtxDeleter::operator()(WOLFSSL_CTX* ctx) const noexcept {
    wolfSSL_CTX_free(ctx);
    wolfSSL_Cleanup();  // pairs with the wolfSSL_Init() of make_ctx (reference counted)
}

namespace {

std::string wolf_error_text(int code) {
    char text[WOLFSSL_MAX_ERROR_SZ] = {};
    wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code < 0 ? -code : code), text, sizeof text);
    return std::string(text) + " (" + std::to_string(code) + ")";
}

Unexpected<std::error_code> fail_with(NetErrc code, std::string& detail, std::string text) {
    detail = std::move(text);
    return fail(code);
}

std::string lower_case(std::string_view name) {
    std::string s(name);
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Versions and suites. ECDHE groups: X25519 first (fast, constant time), then the NIST curves clients commonly offer.
Result<void> set_policy(WOLFSSL_CTX* ctx, std::string& detail) {
    if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: cannot set the minimum version to TLS 1.2");
    if (wolfSSL_CTX_set_cipher_list(ctx, tls_cipher_list) != WOLFSSL_SUCCESS)
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: the cipher list was refused");
    int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1};
    // set_groups needs a method that allows TLS 1.3; a TLS 1.2-only client names its curves instead.
    if (wolfSSL_CTX_set_groups(ctx, groups, 3) != WOLFSSL_SUCCESS) {
        for (const int group : groups) {
            if (wolfSSL_CTX_UseSupportedCurve(ctx, static_cast<word16>(group)) != WOLFSSL_SUCCESS)
                return fail_with(NetErrc::tls_setup_failed, detail, "TLS: the ECDHE groups were refused");
        }
    }
    return {};
}

// Attached last: a key loaded while the context has a device id is taken for a device-held key,
// and wolfSSL then skips the key/certificate match check.
Result<void> attach_device(WOLFSSL_CTX* ctx, std::string& detail) {
    if (auto r = crypto::use_tls_crypto_device(ctx); !r)
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: crypto device: " + r.error().message());
    return {};
}

Result<WolfCtxPtr> make_ctx(WOLFSSL_METHOD* method, std::string& detail) {
    wolfSSL_Init();  // reference counted; released by WolfCtxDeleter
    WolfCtxPtr ctx(wolfSSL_CTX_new(method));
    if (!ctx) {
        wolfSSL_Cleanup();
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: wolfSSL_CTX_new failed");
    }
    if (auto r = set_policy(ctx.get(), detail); !r) return fail(r.error());
    return ctx;
}

// A handshake in memory between `server` and a throw-away client: wolfSSL 5.5's
// check_private_key passes any EC key, but a client verifies the server's signature with the
// certificate's public key, so a key that does not belong to the certificate fails here.
struct MemoryPipe {
    std::string bytes;
    static int recv(WOLFSSL*, char* buf, int size, void* ctx) {
        auto& p = *static_cast<MemoryPipe*>(ctx);
        if (p.bytes.empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
        const std::size_t n = std::min(p.bytes.size(), static_cast<std::size_t>(size));
        p.bytes.copy(buf, n);
        p.bytes.erase(0, n);
        return static_cast<int>(n);
    }
    static int send(WOLFSSL*, char* buf, int size, void* ctx) {
        static_cast<MemoryPipe*>(ctx)->bytes.append(buf, static_cast<std::size_t>(size));
        return size;
    }
};

using SslPtr = std::unique_ptr<WOLFSSL, CFree<wolfSSL_free>>;

SslPtr memory_ssl(WOLFSSL_CTX* ctx, MemoryPipe& in, MemoryPipe& out) {
    SslPtr ssl(wolfSSL_new(ctx));
    if (!ssl) return ssl;
    wolfSSL_SSLSetIORecv(ssl.get(), MemoryPipe::recv);
    wolfSSL_SSLSetIOSend(ssl.get(), MemoryPipe::send);
    wolfSSL_SetIOReadCtx(ssl.get(), &in);
    wolfSSL_SetIOWriteCtx(ssl.get(), &out);
    return ssl;
}

bool key_signs_for_certificate(WOLFSSL_CTX* server_ctx) {
    wolfSSL_Init();  // released by client_ctx's deleter
    WolfCtxPtr client_ctx(wolfSSL_CTX_new(wolfSSLv23_client_method()));
    if (!client_ctx) return false;
    wolfSSL_CTX_set_verify(client_ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
    MemoryPipe to_server;
    MemoryPipe to_client;
    SslPtr client = memory_ssl(client_ctx.get(), to_client, to_server);
    SslPtr server = memory_ssl(server_ctx, to_server, to_client);
    if (!client || !server) return false;
    bool client_done = false;
    bool server_done = false;
    for (int round = 0; round < 8 && !(client_done && server_done); ++round) {
        if (!client_done) client_done = wolfSSL_connect(client.get()) == WOLFSSL_SUCCESS;
        if (!server_done) server_done = wolfSSL_accept(server.get()) == WOLFSSL_SUCCESS;
    }
    while (wolfSSL_ERR_get_error() != 0) {
    }  // leave the thread's error queue empty for the next caller
    return client_done && server_done;
}

Result<void> load_certificate(WOLFSSL_CTX* ctx, const TlsCertificatePaths& paths, std::string& detail) {
    int rc = wolfSSL_CTX_use_certificate_chain_file(ctx, paths.chain_path.c_str());
    if (rc != WOLFSSL_SUCCESS)
        return fail_with(NetErrc::tls_certificate_invalid, detail,
                         "TLS certificate chain " + paths.chain_path + ": " + wolf_error_text(rc));
    rc = wolfSSL_CTX_use_PrivateKey_file(ctx, paths.key_path.c_str(), WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS)
        return fail_with(NetErrc::tls_key_invalid, detail, "TLS private key " + paths.key_path + ": " + wolf_error_text(rc));
    if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS || !key_signs_for_certificate(ctx))
        return fail_with(NetErrc::tls_key_mismatch, detail,
                         "TLS private key " + paths.key_path + " does not match certificate " + paths.chain_path);
    return {};
}

// The same from memory: the key never touches a file.
Result<void> load_certificate(WOLFSSL_CTX* ctx, const TlsCertificatePem& pem, std::string& detail) {
    const auto* chain = reinterpret_cast<const unsigned char*>(pem.chain_pem.data());
    int rc = wolfSSL_CTX_use_certificate_chain_buffer_format(ctx, chain, static_cast<long>(pem.chain_pem.size()),
                                                             WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS)
        return fail_with(NetErrc::tls_certificate_invalid, detail, "TLS certificate chain (stored): " + wolf_error_text(rc));
    rc = wolfSSL_CTX_use_PrivateKey_buffer(ctx, pem.key_pem.view().data(), static_cast<long>(pem.key_pem.size()),
                                           WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS)
        return fail_with(NetErrc::tls_key_invalid, detail, "TLS private key (stored): " + wolf_error_text(rc));
    if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS || !key_signs_for_certificate(ctx))
        return fail_with(NetErrc::tls_key_mismatch, detail, "TLS private key (stored) does not match its certificate");
    return {};
}

}  // namespace

// The ticket key: wolfSSL's own ticket callback rotates its key hourly and then fails handshakes
// (a fatal error while issuing the ticket) once a ticket's lifetime would outlast the key, so we
// seal tickets ourselves. The key lives as long as the context: a reload that builds a new context
// rotates it, and tickets sealed under the old one fall back to a full handshake.
struct TlsServerContext::TicketKey {
    std::array<std::uint8_t, WOLFSSL_TICKET_NAME_SZ> name{};  // also the session-id context
    std::optional<crypto::AesGcmKey> key;
};

namespace {

// wolfSSL hands the ticket in place; its mac field carries our 16-byte GCM tag (the rest zero).
// The key name and IV are authenticated too, as associated data.
int on_ticket(WOLFSSL*, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ], unsigned char iv[WOLFSSL_TICKET_IV_SZ],
              unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char* ticket, int in_bytes, int* out_bytes,
              void* arg) {
    const auto& k = *static_cast<const TlsServerContext::TicketKey*>(arg);
    if (in_bytes < 0 || ticket == nullptr || out_bytes == nullptr) return WOLFSSL_TICKET_RET_FATAL;
    const std::span<std::uint8_t> body(ticket, static_cast<std::size_t>(in_bytes));
    std::array<std::uint8_t, WOLFSSL_TICKET_NAME_SZ + WOLFSSL_TICKET_IV_SZ> aad{};
    const std::span<const std::uint8_t, crypto::gcm_iv_bytes> gcm_iv(iv, crypto::gcm_iv_bytes);
    if (enc) {
        std::memcpy(key_name, k.name.data(), k.name.size());
        if (!crypto::random_bytes(std::span<std::uint8_t>(iv, WOLFSSL_TICKET_IV_SZ))) return WOLFSSL_TICKET_RET_FATAL;
        std::memcpy(aad.data(), key_name, WOLFSSL_TICKET_NAME_SZ);
        std::memcpy(aad.data() + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
        std::memset(mac, 0, WOLFSSL_TICKET_MAC_SZ);
        crypto::gcm_seal(*k.key, gcm_iv, aad, body, ticket, std::span<std::uint8_t>(mac, crypto::gcm_tag_bytes));
        *out_bytes = in_bytes;
        return WOLFSSL_TICKET_RET_OK;
    }
    // Another key's ticket (an earlier run, another box) or a forged one: a full handshake, not an error.
    if (std::memcmp(key_name, k.name.data(), k.name.size()) != 0) return WOLFSSL_TICKET_RET_REJECT;
    std::memcpy(aad.data(), key_name, WOLFSSL_TICKET_NAME_SZ);
    std::memcpy(aad.data() + WOLFSSL_TICKET_NAME_SZ, iv, WOLFSSL_TICKET_IV_SZ);
    if (!crypto::gcm_open(*k.key, gcm_iv, aad, body, ticket, std::span<const std::uint8_t>(mac, crypto::gcm_tag_bytes)))
        return WOLFSSL_TICKET_RET_REJECT;
    *out_bytes = in_bytes;
    return WOLFSSL_TICKET_RET_OK;
}

Result<std::unique_ptr<TlsServerContext::TicketKey>> make_ticket_key(std::string& detail) {
    auto k = std::make_unique<TlsServerContext::TicketKey>();
    auto raw = crypto::SecretBytes::random(crypto::gcm_key_bytes);
    if (!raw || !crypto::random_bytes(k->name))
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: no randomness for the session ticket key");
    k->key.emplace(std::span<const std::uint8_t, crypto::gcm_key_bytes>(raw->view().data(), crypto::gcm_key_bytes));
    return k;
}

template <class Source>
Result<WolfCtxPtr> make_server_ctx(const TlsServerOptions& o, const Source& source,
                                   const TlsServerContext::TicketKey& ticket_key, std::string& detail) {
    auto ctx = make_ctx(wolfSSLv23_server_method(), detail);
    if (!ctx) return ctx;
    WOLFSSL_CTX* raw = ctx->get();
    if (auto r = load_certificate(raw, source, detail); !r) return fail(r.error());
    if (!o.session_tickets) {
        wolfSSL_CTX_NoTicketTLSv12(raw);
        wolfSSL_CTX_no_ticket_TLSv13(raw);
    } else {
        wolfSSL_CTX_set_TicketHint(raw, static_cast<int>(o.ticket_lifetime_s));
        wolfSSL_CTX_set_TicketEncCb(raw, on_ticket);
        wolfSSL_CTX_set_TicketEncCtx(raw, const_cast<TlsServerContext::TicketKey*>(&ticket_key));
    }
    (void)wolfSSL_CTX_set_timeout(raw, o.ticket_lifetime_s);  // returns the previous value
    wolfSSL_CTX_set_session_cache_mode(raw, WOLFSSL_SESS_CACHE_OFF);  // see TlsServerOptions
    if (wolfSSL_CTX_set_session_id_context(raw, ticket_key.name.data(), static_cast<unsigned int>(ticket_key.name.size())) !=
        WOLFSSL_SUCCESS)
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: cannot set the session id context");
    if (auto r = attach_device(raw, detail); !r) return fail(r.error());
    return ctx;
}

// wolfSSL calls this while parsing the ClientHello, before it picks the certificate: a configured
// name moves the session onto that name's context; any other name (or none) keeps the default,
// as mail clients often send an IP address or the MX name they were given.
int on_server_name(WOLFSSL* ssl, int* /*alert*/, void* arg) {
    const auto* self = static_cast<const TlsServerContext*>(arg);
    const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
    if (name == nullptr) return 0;
    if (WOLFSSL_CTX* ctx = self->for_server_name(name)) wolfSSL_set_SSL_CTX(ssl, ctx);
    return 0;
}

}  // namespace

// ---------------------------------------------------------------- server

Result<std::shared_ptr<const TlsServerContext>> TlsServerContext::create(const TlsServerOptions& options,
                                                                         std::string& detail) {
    if (options.ticket_lifetime_s == 0 || options.ticket_lifetime_s > tls_ticket_lifetime_s_max)
        return fail_with(NetErrc::tls_setup_failed, detail,
                         "TLS: ticket lifetime must be 1 to " + std::to_string(tls_ticket_lifetime_s_max) + " seconds");
    if (options.sni.size() + options.sni_pem.size() > tls_sni_names_max)
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: more than " + std::to_string(tls_sni_names_max) + " SNI names");
    std::shared_ptr<TlsServerContext> self(new TlsServerContext());
    auto ticket_key = make_ticket_key(detail);
    if (!ticket_key) return fail(ticket_key.error());
    self->ticket_key_ = std::move(*ticket_key);
    auto ctx = options.certificate_pem ? make_server_ctx(options, *options.certificate_pem, *self->ticket_key_, detail)
                                       : make_server_ctx(options, options.certificate, *self->ticket_key_, detail);
    if (!ctx) return fail(ctx.error());
    self->default_ = std::move(*ctx);
    self->not_after_unix_ = options.certificate_pem ? certificate_not_after_pem(options.certificate_pem->chain_pem)
                                                    : certificate_not_after(options.certificate.chain_path);
    const auto add_name = [&](const std::string& name, auto made) -> Result<void> {
        if (name.empty() || name.size() > tls_server_name_bytes_max)
            return fail_with(NetErrc::tls_setup_failed, detail, "TLS: SNI name '" + name + "' is empty or too long");
        if (!made) return fail(made.error());
        self->by_name_.insert_or_assign(lower_case(name), std::move(*made));
        return {};
    };
    for (const auto& [name, paths] : options.sni)
        if (auto r = add_name(name, make_server_ctx(options, paths, *self->ticket_key_, detail)); !r) return fail(r.error());
    for (const auto& [name, pem] : options.sni_pem) {
        if (!pem) continue;
        if (auto r = add_name(name, make_server_ctx(options, *pem, *self->ticket_key_, detail)); !r) return fail(r.error());
    }
    if (!self->by_name_.empty()) {
        wolfSSL_CTX_set_servername_callback(self->default_.get(), on_server_name);
        wolfSSL_CTX_set_servername_arg(self->default_.get(), self.get());
    }
    return std::shared_ptr<const TlsServerContext>(std::move(self));
}

TlsServerContext::~TlsServerContext() = default;

namespace {

// Takes the certificate and frees it.
std::int64_t not_after_of(WOLFSSL_X509* leaf) {
    if (leaf == nullptr) return 0;
    std::tm tm{};
    const WOLFSSL_ASN1_TIME* after = wolfSSL_X509_get_notAfter(leaf);
    const bool ok = after != nullptr && wolfSSL_ASN1_TIME_to_tm(after, &tm) == WOLFSSL_SUCCESS;
    wolfSSL_X509_free(leaf);
    return ok ? static_cast<std::int64_t>(timegm(&tm)) : 0;
}

}  // namespace

std::int64_t certificate_not_after(const std::string& pem_path) {
    return not_after_of(wolfSSL_X509_load_certificate_file(pem_path.c_str(), WOLFSSL_FILETYPE_PEM));
}

std::int64_t certificate_not_after_pem(std::string_view pem) {
    if (pem.size() > 1048576) return 0;
    return not_after_of(wolfSSL_X509_load_certificate_buffer(reinterpret_cast<const unsigned char*>(pem.data()),
                                                             static_cast<int>(pem.size()), WOLFSSL_FILETYPE_PEM));
}

WOLFSSL_CTX* TlsServerContext::for_server_name(const char* name) const noexcept {
    char lowered[tls_server_name_bytes_max + 1];
    std::size_t n = 0;
    for (; name[n] != '\0'; ++n) {
        if (n == tls_server_name_bytes_max) return nullptr;
        lowered[n] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[n])));
    }
    const auto it = by_name_.find(std::string_view(lowered, n));
    return it == by_name_.end() ? nullptr : it->second.get();
}

// ---------------------------------------------------------------- client

Result<std::shared_ptr<const TlsClientContext>> TlsClientContext::create(const TlsClientOptions& options,
                                                                         std::string& detail) {
    std::shared_ptr<TlsClientContext> self(new TlsClientContext());
    auto ctx = make_ctx(options.version_max == TlsVersionMax::tls12 ? wolfTLSv1_2_client_method()
                                                                    : wolfSSLv23_client_method(),
                        detail);
    if (!ctx) return fail(ctx.error());
    self->ctx_ = std::move(*ctx);
    self->verify_ = options.verify;
    WOLFSSL_CTX* raw = self->ctx_.get();
    if (options.verify == TlsVerify::peer) {
        const int rc = options.ca_file.empty() ? wolfSSL_CTX_load_system_CA_certs(raw)
                                               : wolfSSL_CTX_load_verify_locations(raw, options.ca_file.c_str(), nullptr);
        if (rc != WOLFSSL_SUCCESS)
            return fail_with(NetErrc::tls_certificate_invalid, detail,
                             "TLS trust anchors " + (options.ca_file.empty() ? std::string("(system)") : options.ca_file) +
                                 ": " + wolf_error_text(rc));
        wolfSSL_CTX_set_verify(raw, WOLFSSL_VERIFY_PEER, nullptr);
    } else {
        wolfSSL_CTX_set_verify(raw, WOLFSSL_VERIFY_NONE, nullptr);
    }
    if (!options.certificate.chain_path.empty() || !options.certificate.key_path.empty()) {
        const TlsCertificatePaths& paths = options.certificate;
        if (wolfSSL_CTX_use_certificate_chain_file(raw, paths.chain_path.c_str()) != WOLFSSL_SUCCESS)
            return fail_with(NetErrc::tls_certificate_invalid, detail, "TLS client certificate " + paths.chain_path);
        if (wolfSSL_CTX_use_PrivateKey_file(raw, paths.key_path.c_str(), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
            return fail_with(NetErrc::tls_key_invalid, detail, "TLS client key " + paths.key_path);
        if (wolfSSL_CTX_check_private_key(raw) != WOLFSSL_SUCCESS)
            return fail_with(NetErrc::tls_key_mismatch, detail,
                             "TLS client key " + paths.key_path + " does not match certificate " + paths.chain_path);
    }
    if (!options.session_resumption) {
        wolfSSL_CTX_set_session_cache_mode(raw, WOLFSSL_SESS_CACHE_OFF);
    } else if (wolfSSL_CTX_UseSessionTicket(raw) != WOLFSSL_SUCCESS) {  // TLS 1.2 asks for tickets only if told
        return fail_with(NetErrc::tls_setup_failed, detail, "TLS: cannot ask for session tickets");
    }
    if (auto r = attach_device(raw, detail); !r) return fail(r.error());
    return std::shared_ptr<const TlsClientContext>(std::move(self));
}

TlsClientContext::~TlsClientContext() = default;

}  // namespace vmx::net
