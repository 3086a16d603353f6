// The certificates' schedule (see acme_schedule.h).
#include "appliance/acme/acme_schedule.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/log.h"

namespace vmx {
namespace {

std::vector<std::string> sorted(std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

AcmeSchedule::AcmeSchedule(KeyService& keys, AcmeScheduleOptions options) : keys_(keys), options_(std::move(options)) {
    options_.https.stopping = &stopping_;
}

AcmeSchedule::~AcmeSchedule() {
    stopping_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
}

void AcmeSchedule::load() {
    std::vector<std::string> skipped;
    auto loaded = load_acme_certificates(keys_, skipped);
    for (const auto& name : skipped)
        log_event(LogLevel::warn, "acme.certificate_unreadable", "secret={} (ordered again)", name);
    if (!loaded) {
        log_event(LogLevel::error, "acme.load_failed", "error=\"{}\"", loaded.error().message());
        return;
    }
    stored_ = std::move(*loaded);
}

const StoredCertificate* AcmeSchedule::stored_for(const std::vector<std::string>& names) const {
    const auto want = sorted(names);
    for (const auto& c : stored_)
        if (sorted(c.info.names) == want) return &c;
    return nullptr;
}

bool AcmeSchedule::due(const std::vector<std::string>& names, const Wanted& w, std::int64_t now_unix) const {
    if (w.forced) return true;
    if (now_unix < w.next_try_unix) return false;
    const StoredCertificate* c = stored_for(names);
    return c == nullptr || c->info.not_after_unix - now_unix < std::int64_t{options_.renew_days} * 86400;
}

bool AcmeSchedule::tick(std::int64_t now_unix, const std::vector<std::vector<std::string>>& wanted) {
    if (thread_.joinable()) return finished_.load(std::memory_order_acquire) && collect(now_unix);
    for (const auto& names : wanted) wanted_.try_emplace(names);
    std::erase_if(wanted_, [&](const auto& entry) {
        return std::find(wanted.begin(), wanted.end(), entry.first) == wanted.end();
    });
    const bool pruned = prune(wanted);
    for (auto& [names, w] : wanted_)
        if (due(names, w, now_unix)) {
            start(names, now_unix);
            break;
        }
    return pruned;
}

bool AcmeSchedule::prune(const std::vector<std::vector<std::string>>& wanted) {
    bool removed = false;
    for (const StoredCertificate& c : stored_) {
        const auto names = sorted(c.info.names);
        const bool in_use = std::any_of(wanted.begin(), wanted.end(), [&](const auto& w) { return sorted(w) == names; });
        if (in_use) continue;
        if (auto r = keys_.remove_appliance_secret(c.secret_name); !r) {
            log_event(LogLevel::error, "acme.remove_failed", "secret={} error=\"{}\"", c.secret_name, r.error().message());
            continue;
        }
        log_event(LogLevel::info, "acme.removed", "names={} (no longer wanted)", fmt::join(c.info.names, ","));
        removed = true;
    }
    if (!removed) return false;
    load();
    ++generation_;
    return true;
}

void AcmeSchedule::start(const std::vector<std::string>& names, std::int64_t now_unix) {
    Wanted& w = wanted_[names];
    w.forced = false;
    if (!account_) {
        auto key = acme_account_key(keys_, now_unix);
        if (!key) {
            w.last_error = "account key: " + key.error().message();
            w.next_try_unix = now_unix + options_.check_interval_s;
            log_event(LogLevel::error, "acme.order_failed", "names={} error=\"{}\"", fmt::join(names, ","), w.last_error);
            return;
        }
        account_ = std::make_unique<crypto::AcmeKey>(std::move(*key));
    }
    ordering_ = names;
    finished_.store(false, std::memory_order_relaxed);
    outcome_ = std::monostate{};
    log_event(LogLevel::info, "acme.order_started", "names={}", fmt::join(names, ","));
    thread_ = std::thread([this] {
        try {
            CurlTransport transport(options_.https);
            AcmeClient client(transport, board_, *account_, options_.client, stopping_);
            auto issued = client.order(ordering_);
            if (issued)
                outcome_ = std::move(*issued);
            else
                outcome_ = client.last_error() + (transport.last_error().empty() ? "" : " (" + transport.last_error() + ")");
        } catch (const std::exception& e) {  // out of memory, or a bug: this order fails, the daemon serves on
            outcome_ = std::string("order aborted: ") + e.what();
        }
        finished_.store(true, std::memory_order_release);
    });
}

bool AcmeSchedule::collect(std::int64_t now_unix) {
    thread_.join();
    const auto names = std::move(ordering_);
    ordering_.clear();
    auto found = wanted_.find(names);
    Wanted scratch;
    Wanted& w = found != wanted_.end() ? found->second : scratch;
    w.next_try_unix = now_unix + options_.check_interval_s;
    if (auto* error = std::get_if<std::string>(&outcome_)) {
        w.last_error = *error;
        log_event(LogLevel::error, "acme.order_failed", "names={} error=\"{}\" (the certificate in use stays)",
                  fmt::join(names, ","), w.last_error);
        return false;
    }
    auto* issued = std::get_if<AcmeIssued>(&outcome_);
    if (issued == nullptr) return false;
    if (auto r = store_acme_certificate(keys_, *issued, now_unix); !r) {
        w.last_error = "storing the certificate: " + r.error().message();
        log_event(LogLevel::error, "acme.order_failed", "names={} error=\"{}\"", fmt::join(names, ","), w.last_error);
        outcome_ = std::monostate{};
        return false;
    }
    outcome_ = std::monostate{};  // the key's copy is wiped now; the stored one is what serves
    w.last_error.clear();
    load();
    ++generation_;
    if (const StoredCertificate* c = stored_for(names))
        log_event(LogLevel::info, "acme.issued", "names={} serial={} not_after={}", fmt::join(names, ","),
                  c->info.serial_hex, c->info.not_after_unix);
    return true;
}

bool AcmeSchedule::renew(const std::string& name) {
    bool any = false;
    for (auto& [names, w] : wanted_)
        if (name.empty() || std::find(names.begin(), names.end(), name) != names.end()) {
            w.forced = true;
            any = true;
        }
    return any;
}

std::vector<AcmeStatus> AcmeSchedule::status(std::int64_t now_unix) const {
    std::vector<AcmeStatus> out;
    for (const auto& [names, w] : wanted_) {
        AcmeStatus s;
        s.names = names;
        s.last_error = w.last_error;
        s.next_try_unix = w.next_try_unix;
        const StoredCertificate* c = stored_for(names);
        if (c != nullptr) {
            s.not_after_unix = c->info.not_after_unix;
            s.serial_hex = c->info.serial_hex;
            s.issuer = c->info.issuer;
        }
        if (thread_.joinable() && ordering_ == names)
            s.state = "ordering";
        else if (due(names, w, std::max(now_unix, w.next_try_unix)))
            s.state = w.last_error.empty() ? "due" : "failed";
        else
            s.state = "valid";
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace vmx
