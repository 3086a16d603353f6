// The login ban list (see ban_list.h).
#include "appliance/auth/ban_list.h"

#include <algorithm>

#include "core/log.h"

namespace vmx {

BanList::BanList(BanOptions options, BanRecords* records, std::shared_ptr<const crypto::KeySet> keys)
    : options_(std::move(options)), records_(records), keys_(std::move(keys)) {}

void BanList::set_keys(std::shared_ptr<const crypto::KeySet> keys) {
    std::lock_guard lock(mutex_);
    keys_ = std::move(keys);
}

Result<void> BanList::load(std::int64_t now_s) {
    if (records_ == nullptr) return {};
    std::lock_guard lock(mutex_);
    auto saved = records_->load(*keys_);
    if (!saved) return fail(saved.error());
    for (BanRecord& r : *saved) {
        next_id_ = std::max(next_id_, r.id + 1);
        if (r.until_unix <= now_s) {
            (void)records_->erase(r.id);
            continue;
        }
        Entry& e = entries_[r.address];
        e.ban = Ban{r.address, r.since_unix, r.until_unix, r.failures};
        e.id = r.id;
    }
    return {};
}

bool BanList::banned(std::string_view address, std::int64_t now_s) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(std::string(address));
    return it != entries_.end() && it->second.ban.until_unix > now_s;
}

bool BanList::failed_login(std::string_view address, std::int64_t now_s) {
    if (options_.failures == 0 || address.empty() || exempt(address)) return false;
    std::lock_guard lock(mutex_);
    auto it = entries_.find(std::string(address));
    if (it == entries_.end()) {
        make_room(now_s);
        it = entries_.emplace(std::string(address), Entry{}).first;
        it->second.ban.address = std::string(address);
    }
    Entry& e = it->second;
    if (e.ban.until_unix > now_s) return false;  // already banned
    if (now_s - e.window_start >= options_.window_s) {
        e.window_start = now_s;
        e.ban.failures = 0;
    }
    if (++e.ban.failures < options_.failures) return false;
    e.ban.since_unix = now_s;
    e.ban.until_unix = now_s + options_.duration_s;
    if (e.id == 0) e.id = next_id_++;
    persist(e);
    log_event(LogLevel::warn, "auth.address_banned", "client={} failures={} until={}", e.ban.address, e.ban.failures,
              e.ban.until_unix);
    return true;
}

std::vector<Ban> BanList::list(std::int64_t now_s) const {
    std::vector<Ban> out;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [address, e] : entries_)
            if (e.ban.until_unix > now_s) out.push_back(e.ban);
    }
    std::sort(out.begin(), out.end(), [](const Ban& a, const Ban& b) { return a.since_unix < b.since_unix; });
    return out;
}

Result<bool> BanList::remove(std::string_view address) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(std::string(address));
    if (it == entries_.end()) return false;
    const bool was_banned = it->second.id != 0;
    if (was_banned && records_ != nullptr) {
        if (auto r = records_->erase(it->second.id); !r) return fail(r.error());
    }
    entries_.erase(it);
    return was_banned;
}

// Room for one more address: expired counts and lifted bans first, then the oldest.
void BanList::make_room(std::int64_t now_s) {
    if (entries_.size() < options_.bans_max) return;
    for (auto it = entries_.begin(); it != entries_.end();) {
        const Entry& e = it->second;
        const bool counting_expired = e.ban.until_unix <= now_s && now_s - e.window_start >= options_.window_s;
        if (counting_expired) {
            if (e.id != 0 && records_ != nullptr) (void)records_->erase(e.id);
            it = entries_.erase(it);
        } else {
            ++it;
        }
    }
    if (entries_.size() < options_.bans_max) return;
    auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return std::max(a.second.window_start, a.second.ban.since_unix) <
               std::max(b.second.window_start, b.second.ban.since_unix);
    });
    if (oldest->second.id != 0 && records_ != nullptr) (void)records_->erase(oldest->second.id);
    entries_.erase(oldest);
}

void BanList::persist(const Entry& e) {
    if (records_ == nullptr) return;
    const BanRecord record{e.id, e.ban.address, e.ban.since_unix, e.ban.until_unix, e.ban.failures};
    if (auto r = records_->put(*keys_, record); !r)
        log_event(LogLevel::error, "auth.ban_not_saved", "client={} error=\"{}\" (enforced until a restart)",
                  e.ban.address, r.error().message());
}

}  // namespace vmx
