// RAII owners of OpenSSL libcrypto handles, shared by the sources that use libcrypto (DKIM keys,
// WebAuthn, ACME). Include only from those sources: never beside a wolfSSL header (they clash).
#pragma once

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>
#include <system_error>

#include "core/c_free.h"
#include "core/result.h"

namespace vmx::crypto {

using PkeyPtr = std::unique_ptr<EVP_PKEY, CFree<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, CFree<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, CFree<EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, CFree<BIO_free>>;

// OpenSSL leaves its reasons on a per-thread queue; a failure here must not be read later as the
// failure of some other libcrypto caller on this thread (libopendkim, another request).
template <class E>
Unexpected<std::error_code> fail_clearing(E e) {
    ERR_clear_error();
    return fail(e);
}

}  // namespace vmx::crypto
