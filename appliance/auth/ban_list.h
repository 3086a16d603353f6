// BanList: client addresses whose logins keep failing are banned for a while on every login port
// (POP3, submission, later the portal), and the bans outlive a restart (BanRecords). One list for
// all shards and workers, under one short lock: the auth workers count failures and ban, the shards
// ask at connect time, the admin lists and lifts bans. Addresses in [limits] exempt_networks are
// never counted nor banned. Invariants: at most bans_max bans and as many counted addresses (the
// oldest go first); a ban that cannot be written is still enforced until the restart, and logged.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "appliance/directory/ban_records.h"
#include "core/network_range.h"
#include "core/result.h"
#include "crypto/keyring.h"

namespace vmx {

struct BanOptions {
    std::uint32_t failures = 10;      // failed logins from one address within window_s ban it (0: never)
    std::uint32_t window_s = 600;
    std::uint32_t duration_s = 3600;
    std::size_t bans_max = 100'000;   // also the addresses counted at once
    NetworkList exempt;
};

struct Ban {
    std::string address;
    std::int64_t since_unix = 0;
    std::int64_t until_unix = 0;
    std::uint32_t failures = 0;
};

class BanList {
public:
    // records may be null (no persistence: unit tests); keys seal them (set_keys follows rotations).
    BanList(BanOptions options, BanRecords* records, std::shared_ptr<const crypto::KeySet> keys);
    void set_keys(std::shared_ptr<const crypto::KeySet> keys);

    // Reads the saved bans (control thread, at start-up); expired ones are dropped from disk.
    Result<void> load(std::int64_t now_s);

    bool banned(std::string_view address, std::int64_t now_s) const;
    // A failed login from `address`: counted; true when that failure banned it.
    bool failed_login(std::string_view address, std::int64_t now_s);
    std::vector<Ban> list(std::int64_t now_s) const;
    // Lifts a ban (and forgets the address's failures); false when there was none.
    Result<bool> remove(std::string_view address);
    bool exempt(std::string_view address) const { return options_.exempt.contains_host(address); }

private:
    struct Entry {
        Ban ban;
        std::uint64_t id = 0;  // its record; 0 while only counting failures
        std::int64_t window_start = 0;
    };
    void make_room(std::int64_t now_s);
    void persist(const Entry& entry);

    const BanOptions options_;
    BanRecords* const records_;
    std::shared_ptr<const crypto::KeySet> keys_;  // under mutex_
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Entry> entries_;  // by address: counting or banned
    std::uint64_t next_id_ = 1;
};

}  // namespace vmx
