// VerifiedLogins (see verified_logins.h).
#include "appliance/auth/verified_logins.h"

#include <iterator>

#include "appliance/directory/directory.h"

namespace vmx {
namespace {

constexpr std::size_t key_bytes = 32;

std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

void put_u32(std::uint8_t* out, std::size_t value) {
    const auto v = static_cast<std::uint32_t>(value);
    out[0] = static_cast<std::uint8_t>(v >> 24);
    out[1] = static_cast<std::uint8_t>(v >> 16);
    out[2] = static_cast<std::uint8_t>(v >> 8);
    out[3] = static_cast<std::uint8_t>(v);
}

}  // namespace

Result<void> VerifiedLogins::start() {
    auto key = crypto::SecretBytes::random(key_bytes);
    if (!key) return fail(key.error());
    key_ = std::move(*key);
    return {};
}

void VerifiedLogins::wipe() noexcept {
    std::lock_guard lock(mutex_);
    for (Entry& e : entries_) crypto::secure_wipe(e.mac);
    entries_.clear();
    by_user_.clear();
    key_ = crypto::SecretBytes{};  // the old key is wiped as it is released
}

// Every candidate's MAC is computed, hit or not, so a lookup costs the same whatever is cached.
std::optional<LoginMethod> VerifiedLogins::find(std::string_view user, std::span<const PasswordCandidate> candidates,
                                                std::string_view secret, std::int64_t now_s) {
    if (!enabled() || candidates.empty()) return std::nullopt;
    const std::string name = lower_ascii(user);
    std::vector<Mac> presented(candidates.size());
    bool computed = true;
    for (std::size_t i = 0; i < candidates.size(); ++i)
        computed = computed && mac_of(name, candidates[i], secret, presented[i]);
    std::optional<LoginMethod> hit;
    if (computed) {
        std::lock_guard lock(mutex_);
        if (auto mine = by_user_.find(name); mine != by_user_.end())
            for (std::size_t i = 0; i < candidates.size() && !hit; ++i)
                for (const Entries::iterator& e : mine->second)
                    if (alive(*e, now_s) && crypto::constant_time_equal(e->mac, presented[i]))
                        hit = candidates[i].method;
    }
    for (Mac& m : presented) crypto::secure_wipe(m);
    (hit ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
    return hit;
}

void VerifiedLogins::remember(std::string_view user, const PasswordCandidate& matched, std::string_view secret,
                              std::int64_t verified_s, std::uint64_t ticket) {
    if (!enabled()) return;
    Entry entry{lower_ascii(user), {}, verified_s};
    if (!mac_of(entry.user, matched, secret, entry.mac)) return;
    std::lock_guard lock(mutex_);
    if (ticket != forgets_.load(std::memory_order_relaxed)) return crypto::secure_wipe(entry.mac);
    // The same secret verified again replaces its entry: one entry per secret and stored hash.
    if (auto mine = by_user_.find(entry.user); mine != by_user_.end())
        for (const Entries::iterator& e : mine->second)
            if (crypto::constant_time_equal(e->mac, entry.mac)) {
                erase(e);
                break;
            }
    make_room(verified_s);
    const std::string name = entry.user;
    entries_.push_back(std::move(entry));
    by_user_[name].push_back(std::prev(entries_.end()));
}

void VerifiedLogins::failed(std::string_view user) {
    const std::string name = lower_ascii(user);
    std::lock_guard lock(mutex_);
    drop(name);
}

void VerifiedLogins::forget(std::string_view user) {
    const std::string name = lower_ascii(user);
    std::lock_guard lock(mutex_);
    drop(name);
    forgets_.fetch_add(1, std::memory_order_release);
}

std::size_t VerifiedLogins::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

// A clock that went back makes an entry look younger than it is: such an entry counts as expired.
bool VerifiedLogins::alive(const Entry& e, std::int64_t now_s) const noexcept {
    return now_s >= e.verified_s && now_s - e.verified_s < std::int64_t{options_.ttl_s};
}

// HMAC(key, len(user) || len(hash) || method || user || hash || secret): the lengths and the fixed
// method byte make the message parse one way only, so no other tuple gives the same MAC.
bool VerifiedLogins::mac_of(std::string_view user, const PasswordCandidate& candidate, std::string_view secret,
                            Mac& out) const {
    std::array<std::uint8_t, 9> header{};
    put_u32(header.data(), user.size());
    put_u32(header.data() + 4, candidate.hash.size());
    header[8] = static_cast<std::uint8_t>(candidate.method);
    const std::array<std::span<const std::uint8_t>, 4> parts{header, bytes_of(user), bytes_of(candidate.hash),
                                                            bytes_of(secret)};
    return crypto::hmac_sha256(key_.view(), parts, out).has_value();
}

// Caller holds mutex_.
void VerifiedLogins::drop(const std::string& user) {
    auto mine = by_user_.find(user);
    if (mine == by_user_.end()) return;
    for (const Entries::iterator& e : mine->second) {
        crypto::secure_wipe(e->mac);
        entries_.erase(e);
    }
    by_user_.erase(mine);
}

// Caller holds mutex_.
void VerifiedLogins::erase(Entries::iterator entry) {
    auto mine = by_user_.find(entry->user);
    std::erase(mine->second, entry);
    if (mine->second.empty()) by_user_.erase(mine);
    crypto::secure_wipe(entry->mac);
    entries_.erase(entry);
}

// Caller holds mutex_. The expired entries at the front go, then the oldest while the table is full.
void VerifiedLogins::make_room(std::int64_t now_s) {
    while (!entries_.empty() && (entries_.size() >= options_.entries_max || !alive(entries_.front(), now_s)))
        erase(entries_.begin());
}

}  // namespace vmx
