// Certificates from the ACME CA in the appliance secrets (see acme_certificates.h).
#include "appliance/acme/acme_certificates.h"

#include <algorithm>

#include "crypto/sha256.h"

namespace vmx {
namespace {

constexpr std::string_view certificate_begin = "-----BEGIN CERTIFICATE-----";
constexpr std::size_t plain_name_bytes_max = 100;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::string acme_cert_secret_name(const std::string& first) {
    if (first.size() <= plain_name_bytes_max) return std::string(acme_cert_prefix) + first;
    crypto::Sha256 hash;
    hash.update(bytes_of(first));
    const auto digest = hash.finish();
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = std::string(acme_cert_prefix) + "h-";
    for (std::size_t i = 0; digest && i < 16; ++i) {
        out += hex[(*digest)[i] >> 4];
        out += hex[(*digest)[i] & 0xF];
    }
    return out;
}

Result<std::vector<StoredCertificate>> load_acme_certificates(const KeyService& keys, std::vector<std::string>& skipped) {
    auto listed = keys.appliance_secrets();
    if (!listed) return fail(listed.error());
    std::vector<StoredCertificate> out;
    for (const auto& entry : *listed) {
        if (!entry.name.starts_with(acme_cert_prefix)) continue;
        auto value = keys.appliance_secret(entry.name);
        if (!value || !*value) {
            skipped.push_back(entry.name);
            continue;
        }
        const std::string_view text(reinterpret_cast<const char*>((*value)->view().data()), (*value)->size());
        const std::size_t split = text.find(certificate_begin);
        if (split == std::string_view::npos || split == 0) {
            skipped.push_back(entry.name);
            continue;
        }
        auto pem = std::make_shared<net::TlsCertificatePem>();
        pem->key_pem = crypto::SecretBytes::copy_of(bytes_of(text.substr(0, split)));
        pem->chain_pem = std::string(text.substr(split));
        auto info = crypto::read_chain(pem->chain_pem);
        auto key = crypto::AcmeKey::from_pem(pem->key_pem.view());
        if (!info || info->names.empty() || !key || !crypto::chain_matches_key(pem->chain_pem, *key)) {
            skipped.push_back(entry.name);
            continue;
        }
        out.push_back({entry.name, std::move(*info), std::move(pem)});
    }
    return out;
}

Result<void> store_acme_certificate(KeyService& keys, const AcmeIssued& issued, std::int64_t now_unix) {
    if (issued.names.empty()) return fail(std::make_error_code(std::errc::invalid_argument));
    const std::size_t total = issued.key_pem.size() + issued.chain_pem.size();
    if (total > stored_secret_bytes_max) return fail(std::make_error_code(std::errc::file_too_large));
    crypto::SecretBytes value = crypto::SecretBytes::zeroed(total);
    auto out = value.mutable_view();
    std::copy(issued.key_pem.view().begin(), issued.key_pem.view().end(), out.begin());
    std::copy(issued.chain_pem.begin(), issued.chain_pem.end(), out.begin() + static_cast<std::ptrdiff_t>(issued.key_pem.size()));
    return keys.set_appliance_secret(acme_cert_secret_name(issued.names.front()), value.view(), now_unix);
}

Result<crypto::AcmeKey> acme_account_key(KeyService& keys, std::int64_t now_unix) {
    auto stored = keys.appliance_secret(acme_account_secret);
    if (!stored) return fail(stored.error());
    if (*stored) return crypto::AcmeKey::from_pem((*stored)->view());
    auto made = crypto::AcmeKey::generate();
    if (!made) return fail(made.error());
    auto pem = made->to_pem();
    if (!pem) return fail(pem.error());
    if (auto r = keys.set_appliance_secret(acme_account_secret, pem->view(), now_unix); !r) return fail(r.error());
    return made;
}

}  // namespace vmx
