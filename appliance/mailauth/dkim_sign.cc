// DKIM signing with libopendkim (see dkim_sign.h).
#include "appliance/mailauth/dkim_sign.h"

#include <cstring>

#include "appliance/mailauth/dkim_keyring.h"
#include "crypto/secret_bytes.h"

namespace vmx {
namespace {

// RFC 6376 5.4.1's list; the library signs those the message has.
const char* const signed_fields[] = {
    "from", "reply-to", "subject", "date", "to", "cc", "resent-date", "resent-from", "resent-to", "resent-cc",
    "in-reply-to", "references", "list-id", "list-help", "list-unsubscribe", "list-subscribe", "list-post",
    "list-owner", "list-archive", "message-id", "mime-version", "content-type", "content-transfer-encoding",
    "content-id", "content-description", nullptr};
// Signed one more time than they appear (RFC 6376 8.15): a copy added on the way breaks the signature.
const char* const oversigned_fields[] = {"from", "reply-to", "subject", "date", "to", "cc", "message-id",
                                         "mime-version", "content-type", nullptr};

constexpr std::string_view field_prefix = "DKIM-Signature: ";

// The library folds with a bare LF; mail needs CRLF.
std::string with_crlf(const unsigned char* text, std::size_t length) {
    std::string out;
    out.reserve(length + 16);
    for (std::size_t i = 0; i < length; ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
        out += static_cast<char>(text[i]);
    }
    return out;
}

}  // namespace

Result<std::unique_ptr<DkimSign>> DkimSign::create() {
    DkimLibPtr lib = open_dkim_library();
    if (!lib) return fail(std::make_error_code(std::errc::not_enough_memory));
    // The option takes the list itself, and the size of a pointer to it as its length (the library
    // copies the strings).
    auto* sign = const_cast<char**>(signed_fields);
    auto* over = const_cast<char**>(oversigned_fields);
    if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign, sizeof sign) != DKIM_STAT_OK ||
        dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over, sizeof over) != DKIM_STAT_OK)
        return fail(std::make_error_code(std::errc::invalid_argument));
    return std::unique_ptr<DkimSign>(new DkimSign(std::move(lib)));
}

Result<std::string> DkimSign::sign(std::string_view message, std::string_view domain, const DkimSigningKey& key) {
    // The library reads the key as a C string: a NUL-terminated copy in secret memory.
    const auto pem = key.private_pem.view();
    crypto::SecretBytes terminated = crypto::SecretBytes::zeroed(pem.size() + 1);
    std::memcpy(terminated.mutable_view().data(), pem.data(), pem.size());
    const std::string selector(key.selector);
    const std::string signing_domain(domain);
    const dkim_alg_t algorithm =
        key.algorithm == crypto::DkimAlgorithm::ed25519_sha256 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
    DKIM_STAT status = DKIM_STAT_OK;
    DkimPtr dkim(dkim_sign(lib_.get(), reinterpret_cast<const unsigned char*>("vmx"), nullptr,
                           terminated.mutable_view().data(), reinterpret_cast<const unsigned char*>(selector.c_str()),
                           reinterpret_cast<const unsigned char*>(signing_domain.c_str()), DKIM_CANON_RELAXED,
                           DKIM_CANON_RELAXED, algorithm, -1, &status));
    if (!dkim) return fail(std::make_error_code(std::errc::invalid_argument));
    status = feed_message(dkim.get(), message);
    if (status != DKIM_STAT_OK) return fail(std::make_error_code(std::errc::io_error));
    unsigned char* value = nullptr;
    std::size_t length = 0;
    if (dkim_getsighdr_d(dkim.get(), field_prefix.size(), &value, &length) != DKIM_STAT_OK || value == nullptr)
        return fail(std::make_error_code(std::errc::io_error));
    std::string field(field_prefix);
    field += with_crlf(value, length);
    field += "\r\n";
    return field;
}

}  // namespace vmx
