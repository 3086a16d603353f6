// A certificate's notAfter (see certificate_expiry.h), through wolfSSL's X509 reader.
#include "net/tls/certificate_expiry.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <ctime>
#include <memory>

#include "core/c_free.h"
#include "net/errc.h"

namespace vmx::net {

Result<std::int64_t> certificate_not_after_unix(const std::string& pem_path) {
    const std::unique_ptr<WOLFSSL_X509, CFree<wolfSSL_X509_free>> cert(
        wolfSSL_X509_load_certificate_file(pem_path.c_str(), WOLFSSL_FILETYPE_PEM));
    if (!cert) return fail(NetErrc::tls_certificate_invalid);
    const WOLFSSL_ASN1_TIME* not_after = wolfSSL_X509_get_notAfter(cert.get());
    std::tm tm{};
    if (not_after == nullptr || wolfSSL_ASN1_TIME_to_tm(not_after, &tm) != WOLFSSL_SUCCESS)
        return fail(NetErrc::tls_certificate_invalid);
    return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace vmx::net
