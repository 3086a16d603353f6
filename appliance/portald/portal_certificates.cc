// The portal's certificates (see portal_certificates.h).
#include "appliance/portald/portal_certificates.h"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "appliance/admin/client.h"
#include "appliance/directory/directory.h"
#include "core/log.h"

namespace vmx {
namespace {

constexpr int ask_timeout_ms = 2000;
constexpr std::size_t pem_bytes_max = std::size_t{1} << 20;

// A PEM file, whole; false when it cannot be read or is too large.
bool read_pem(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return !in.bad() && out.size() <= pem_bytes_max;
}

}  // namespace

// [tls] cert and key are read here, at start, while the portal may still read them: it drops to
// its own user afterwards, and every later context (a new ACME certificate) is built from memory.
Result<std::unique_ptr<PortalCertificates>> PortalCertificates::open(const Config& config, std::string& detail) {
    auto files = std::make_shared<net::TlsCertificatePem>();
    std::string key;
    if (!read_pem(config.tls_cert, files->chain_pem) || !read_pem(config.tls_key, key)) {
        detail = "cannot read [tls] cert " + config.tls_cert + " or key " + config.tls_key;
        return fail(std::make_error_code(std::errc::permission_denied));
    }
    files->key_pem = crypto::SecretBytes::copy_of(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()));
    std::fill(key.begin(), key.end(), '\0');
    net::TlsServerOptions options;
    options.certificate_pem = files;
    auto made = net::TlsServerContext::create(options, detail);
    if (!made) return fail(made.error());
    return std::unique_ptr<PortalCertificates>(
        new PortalCertificates(config, std::make_shared<net::TlsServerContextSlot>(std::move(*made)), std::move(files)));
}

void PortalCertificates::tick(std::uint64_t now_ms) {
    if (now_ms < next_ms_) return;
    next_ms_ = now_ms + portal_certificates_refresh_ms;
    AdminRequest request;
    request.command = "tls-certificates";
    request.fields.emplace_back("have", generation_);
    auto reply = admin_call(config_.portal_socket, request, ask_timeout_ms);
    if (!reply || reply->status != AdminStatus::ok) {
        if (!failing_)
            log_event(LogLevel::warn, "portal.certificates_unavailable", "error=\"{}\" (the current certificates stay)",
                      reply ? reply->text : reply.error().message());
        failing_ = true;
        return;
    }
    failing_ = false;
    const nlohmann::json answer = nlohmann::json::parse(reply->text, nullptr, false);
    if (!answer.is_object() || !answer.contains("generation")) return;
    const std::string generation = answer["generation"].dump();
    if (answer.value("unchanged", false) || generation == generation_) return;

    net::TlsServerOptions options;
    options.certificate_pem = files_;  // unless an ACME certificate holds the host name (below)
    const std::string host = lower_ascii(config_.hostname);
    std::size_t count = 0;
    if (answer.contains("certificates") && answer["certificates"].is_array())
        for (const auto& c : answer["certificates"]) {
            if (!c.is_object() || !c.contains("chain") || !c["chain"].is_string() || !c.contains("key") ||
                !c["key"].is_string() || !c.contains("names") || !c["names"].is_array())
                continue;
            auto pem = std::make_shared<net::TlsCertificatePem>();
            pem->chain_pem = c["chain"].get<std::string>();
            const auto& key = c["key"].get_ref<const std::string&>();
            pem->key_pem = crypto::SecretBytes::copy_of(
                std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()));
            for (const auto& n : c["names"]) {
                if (!n.is_string()) continue;
                const std::string name = lower_ascii(n.get<std::string>());
                options.sni_pem[name] = pem;
                if (name == host) options.certificate_pem = pem;
            }
            ++count;
        }
    std::string detail;
    auto made = net::TlsServerContext::create(options, detail);
    if (!made) {
        log_event(LogLevel::error, "portal.certificates_failed", "error=\"{}\" (the current certificates stay)",
                  detail.empty() ? made.error().message() : detail);
        return;
    }
    slot_->replace(std::move(*made));
    generation_ = generation;
    log_event(LogLevel::info, "portal.certificates_loaded", "generation={} acme_certificates={}", generation_, count);
}

}  // namespace vmx
