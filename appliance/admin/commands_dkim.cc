// Admin commands on DKIM keys: keygen (a domain's first key), show (the records to publish) and
// rotate (a new active key; the old one retired and still published for dkim_retire_days). Keys are
// made and stored here through the KeyService, which tells the daemon that a "dkim/" secret changed
// (it reloads the keyring); only public records leave in the reply, and the audit entry names the
// domain and selector. Retired keys past their time are removed by each command. Control thread only.
#include "appliance/admin/command_handlers.h"

#include <fmt/format.h>

#include <algorithm>
#include <variant>

#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"
#include "appliance/mailauth/dkim_keyring.h"
#include "core/log.h"
#include "core/patterns.h"

namespace vmx::admin {
namespace {

constexpr std::int64_t day_s = 86'400;
constexpr int default_selector_tries_max = 99;     // vmxYYYYMMDD, -2 ... -99; past that, name one
constexpr std::size_t txt_string_bytes_max = 255;  // RFC 1035 3.3: one <character-string>

using crypto::DkimAlgorithm;

struct NewKeyRequest {
    std::string domain;
    std::optional<DkimAlgorithm> algorithm;  // none: rsa (keygen), the old key's (rotate)
    std::optional<std::string> selector;     // none: vmxYYYYMMDD
};

// A domain's keys now, and every secret name under dkim/DOMAIN/: a selector is taken by its name,
// whether or not its value opens (load_dkim_keys logs and skips those).
struct DomainKeys {
    std::vector<DkimKey> keys;
    std::vector<std::string> names;
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& ch : out)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return out;
}

std::string date_of(std::int64_t unix_s) { return format_time(unix_s).substr(0, 10); }  // 2026-12-06

bool expired(const DkimKey& key, std::int64_t now_unix, std::uint32_t retire_days) {
    return key.retired_unix != 0 && now_unix >= key.retired_unix + std::int64_t{retire_days} * day_s;
}

// Active keys first, newest first (the one that signs leads); then retired ones, latest first.
bool shown_before(const DkimKey& a, const DkimKey& b) {
    if ((a.retired_unix == 0) != (b.retired_unix == 0)) return a.retired_unix == 0;
    if (a.retired_unix != b.retired_unix) return a.retired_unix > b.retired_unix;
    if (a.created_unix != b.created_unix) return a.created_unix > b.created_unix;
    return a.selector > b.selector;
}

std::optional<AdminReply> refuse_domain(std::string_view text, std::string& domain) {
    domain = lower(text);
    // d= must be a name that can hold a _domainkey zone: a DNS name with at least one dot.
    if (matches(Pattern::domain, domain) && domain.find('.') != std::string::npos) return std::nullopt;
    return refused(fmt::format("domain {}: invalid (a DNS name with at least one dot)", json_string(text)));
}

std::variant<NewKeyRequest, AdminReply> new_key_request(const AdminRequest& r) {
    NewKeyRequest out;
    if (auto no = refuse_domain(required(r, "domain"), out.domain)) return std::move(*no);
    if (auto a = r.field("algorithm")) {
        out.algorithm = crypto::parse_dkim_algorithm(*a);
        if (!out.algorithm) return refused(fmt::format("--algorithm {}: rsa or ed25519", json_string(*a)));
    }
    if (auto s = r.field("selector")) {
        if (!matches(Pattern::dkim_selector, *s))
            return refused(fmt::format("--selector {}: invalid (1 to 63 of a-z 0-9 -, not first -)", json_string(*s)));
        out.selector = std::string(*s);
    }
    return out;
}

// The domain's keys, after removing the retired ones whose time is up (their signatures have aged
// out; a record left in DNS does no harm, a key left here would be shown as one to publish).
Result<DomainKeys> domain_keys(AdminContext& c, const std::string& domain) {
    auto all = load_dkim_keys(c.keys);
    if (!all) return fail(all.error());
    auto listed = c.keys.appliance_secrets();
    if (!listed) return fail(listed.error());
    const std::string prefix = fmt::format("{}{}/", dkim_secret_prefix, domain);
    DomainKeys out;
    for (const SecretInfo& s : *listed)
        if (s.name.starts_with(prefix)) out.names.push_back(s.name);
    const std::int64_t now = c.now_unix();
    for (DkimKey& key : *all) {
        if (key.domain != domain) continue;
        if (!expired(key, now, c.dkim_retire_days)) {
            out.keys.push_back(std::move(key));
            continue;
        }
        const std::string name = *dkim_secret_name(key.domain, key.selector);
        auto removed = c.keys.remove_appliance_secret(name);
        if (!removed) return fail(removed.error());
        std::erase(out.names, name);
        log_event(LogLevel::info, "mailauth.dkim_key_removed", "domain={} selector={} retired={}", key.domain,
                  key.selector, key.retired_unix);
    }
    std::sort(out.keys.begin(), out.keys.end(), shown_before);
    return out;
}

bool taken(const DomainKeys& d, const std::string& domain, std::string_view selector) {
    const std::string name = fmt::format("{}{}/{}", dkim_secret_prefix, domain, selector);
    return std::find(d.names.begin(), d.names.end(), name) != d.names.end();
}

// The new key's selector: the one asked for unless it is taken; else vmxYYYYMMDD, then -2, -3...
std::variant<std::string, AdminReply> new_selector(AdminContext& c, const NewKeyRequest& req, const DomainKeys& d) {
    if (req.selector) {
        if (!dkim_secret_name(req.domain, *req.selector))
            return refused(fmt::format("dkim {}: domain and selector together are too long (a secret name holds "
                                       "{} bytes)", req.domain, secret_name_bytes_max));
        if (taken(d, req.domain, *req.selector))
            return refused(fmt::format("dkim {}: selector {} is taken; choose another", req.domain, *req.selector));
        return *req.selector;
    }
    std::string base = date_of(c.now_unix());
    std::erase(base, '-');
    base = "vmx" + base;
    for (int n = 1; n <= default_selector_tries_max; ++n) {
        std::string selector = n == 1 ? base : fmt::format("{}-{}", base, n);
        if (!dkim_secret_name(req.domain, selector))
            return refused(fmt::format("dkim {}: the domain is too long for a key's name (a secret name holds "
                                       "{} bytes)", req.domain, secret_name_bytes_max));
        if (!taken(d, req.domain, selector)) return selector;
    }
    return refused(fmt::format("dkim {}: {} selectors made today; name one with --selector", req.domain,
                               default_selector_tries_max));
}

Result<void> store_key(AdminContext& c, const DkimKey& key) {
    const crypto::SecretBytes value = encode_dkim_key(key);
    return c.keys.set_appliance_secret(*dkim_secret_name(key.domain, key.selector), value.view(), c.now_unix());
}

// A fresh key, stored (it signs as soon as the daemon reloads its keyring).
Result<DkimKey> make_key(AdminContext& c, const std::string& domain, const std::string& selector,
                         DkimAlgorithm algorithm) {
    auto pem = crypto::generate_dkim_key(algorithm);
    if (!pem) return fail(pem.error());
    DkimKey key;
    key.domain = domain;
    key.selector = selector;
    key.algorithm = algorithm;
    key.created_unix = c.now_unix();
    key.private_pem = std::move(*pem);
    if (auto stored = store_key(c, key); !stored) return fail(stored.error());
    return key;
}

// "first 255 bytes" "the rest": how zone files and unbound's local-data take a TXT record longer than
// one character-string. The record text is base64 and "v=DKIM1; k=...; p=": nothing to escape.
std::string quoted_strings(std::string_view text) {
    std::string out;
    for (std::size_t at = 0; at < text.size(); at += txt_string_bytes_max)
        out += fmt::format("{}\"{}\"", out.empty() ? "" : " ", text.substr(at, txt_string_bytes_max));
    return out;
}

std::string comment_of(const DkimKey& key, std::uint32_t retire_days) {
    if (key.retired_unix == 0)
        return fmt::format("; {}: active, {}, signing since {}\n", key.selector, crypto::to_string(key.algorithm),
                           date_of(key.created_unix));
    return fmt::format("; {}: retired {}, remove after {}\n", key.selector, date_of(key.retired_unix),
                       date_of(key.retired_unix + std::int64_t{retire_days} * day_s));
}

// The records to publish, one line each, then comments (or JSON). `note` closes the text form.
AdminReply published(const AdminContext& c, const std::vector<DkimKey>& keys, bool json, std::string_view note) {
    std::string lines;
    std::string comments;
    for (const DkimKey& key : keys) {
        auto p = crypto::dkim_public_key(key.algorithm, key.private_pem.view());
        if (!p) return error_reply(fmt::format("dkim {}: key {}", key.domain, key.selector), p.error());
        const std::string record = crypto::dkim_txt_record(key.algorithm, *p);
        const std::string name = fmt::format("{}._domainkey.{}", key.selector, key.domain);
        if (json)
            lines += fmt::format(R"({}{{"selector":{},"algorithm":{},"state":{},"record":{},"name":{}}})",
                                 lines.empty() ? "" : ",", json_string(key.selector),
                                 json_string(crypto::to_string(key.algorithm)),
                                 json_string(key.retired_unix == 0 ? "active" : "retired"), json_string(record),
                                 json_string(name));
        else
            lines += fmt::format("{} TXT {}\n", name, quoted_strings(record));
        comments += comment_of(key, c.dkim_retire_days);
    }
    if (json) return ok("[" + lines + "]\n");
    return ok(lines + comments + std::string(note));
}

// What the daemon chose that the request did not say, for the audit entry.
std::vector<std::string> chosen(const NewKeyRequest& req, const std::string& selector, DkimAlgorithm algorithm) {
    std::vector<std::string> out;
    if (!req.selector) out.insert(out.end(), {"--selector", selector});
    if (!req.algorithm) out.insert(out.end(), {"--algorithm", std::string(crypto::to_string(algorithm))});
    return out;
}

std::string signs_now_note(const DkimKey& key) {
    return fmt::format("; {} signs from now on: publish its record now (until DNS has it, its signatures fail)\n",
                       key.selector);
}

}  // namespace

AdminReply dkim_keygen(AdminContext& c, const AdminRequest& r) {
    auto parsed = new_key_request(r);
    if (auto* no = std::get_if<AdminReply>(&parsed)) return std::move(*no);
    const NewKeyRequest& req = std::get<NewKeyRequest>(parsed);
    auto d = domain_keys(c, req.domain);
    if (!d) return error_reply(fmt::format("dkim {}", req.domain), d.error());
    if (!d->keys.empty() && d->keys.front().retired_unix == 0)
        return refused(fmt::format("dkim {}: it has an active key ({}); use `vaultmx dkim rotate {}`", req.domain,
                                   d->keys.front().selector, req.domain));
    auto selector = new_selector(c, req, *d);
    if (auto* no = std::get_if<AdminReply>(&selector)) return std::move(*no);
    const DkimAlgorithm algorithm = req.algorithm.value_or(DkimAlgorithm::rsa_sha256);
    auto key = make_key(c, req.domain, std::get<std::string>(selector), algorithm);
    if (!key) return error_reply(fmt::format("dkim {}", req.domain), key.error());
    std::string note = signs_now_note(*key);
    d->keys.insert(d->keys.begin(), std::move(*key));
    AdminReply reply = published(c, d->keys, r.json, note);
    reply.audit_notes = chosen(req, std::get<std::string>(selector), algorithm);
    return reply;
}

AdminReply dkim_show(AdminContext& c, const AdminRequest& r) {
    std::string domain;
    if (auto no = refuse_domain(required(r, "domain"), domain)) return std::move(*no);
    auto d = domain_keys(c, domain);
    if (!d) return error_reply(fmt::format("dkim {}", domain), d.error());
    if (d->keys.empty()) {
        const std::string unreadable =
            d->names.empty() ? "" : fmt::format(" ({} unreadable: see the daemon's log)", d->names.size());
        return refused(
            fmt::format("dkim {}: no key{}; make one with `vaultmx dkim keygen {}`", domain, unreadable, domain));
    }
    return published(c, d->keys, r.json, "");
}

AdminReply dkim_rotate(AdminContext& c, const AdminRequest& r) {
    auto parsed = new_key_request(r);
    if (auto* no = std::get_if<AdminReply>(&parsed)) return std::move(*no);
    const NewKeyRequest& req = std::get<NewKeyRequest>(parsed);
    auto d = domain_keys(c, req.domain);
    if (!d) return error_reply(fmt::format("dkim {}", req.domain), d.error());
    if (d->keys.empty() || d->keys.front().retired_unix != 0)
        return refused(fmt::format("dkim {}: no active key to rotate; make one with `vaultmx dkim keygen {}`",
                                   req.domain, req.domain));
    auto selector = new_selector(c, req, *d);
    if (auto* no = std::get_if<AdminReply>(&selector)) return std::move(*no);
    const DkimAlgorithm algorithm = req.algorithm.value_or(d->keys.front().algorithm);
    // The new key is stored first: the keyring then never lacks an active key (of two, the newer
    // signs), so no message leaves unsigned in between.
    auto key = make_key(c, req.domain, std::get<std::string>(selector), algorithm);
    if (!key) return error_reply(fmt::format("dkim {}", req.domain), key.error());
    for (DkimKey& old : d->keys) {
        if (old.retired_unix != 0) continue;
        old.retired_unix = c.now_unix();
        if (auto stored = store_key(c, old); !stored)
            return error_reply(fmt::format("dkim {}: new key {} signs, but {} could not be retired (`dkim rotate` "
                                           "again retires it)", req.domain, key->selector, old.selector),
                               stored.error());
    }
    std::string note = signs_now_note(*key);
    d->keys.insert(d->keys.begin(), std::move(*key));
    std::sort(d->keys.begin(), d->keys.end(), shown_before);
    AdminReply reply = published(c, d->keys, r.json, note);
    reply.audit_notes = chosen(req, std::get<std::string>(selector), algorithm);
    return reply;
}

}  // namespace vmx::admin
