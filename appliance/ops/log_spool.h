// The sealed log spool: every event the daemon logs, as its RFC 5424 line (log_line.h), kept in its
// own LMDB environment under [log] dir and sealed record by record (crypto/sealed_record.h) under a
// log key derived from the master key, so no event is ever a plaintext file on disk. It feeds
// `vaultmx logs show` and the shipper, which sends every event, in order, to the collector.
//
// Database "events": sequence (8, big-endian, so cursor order is sequence order) -> seal(line) with
//   identity {log, 0, 0, sequence}: a record moved to another sequence does not open.
// Database "meta": "next" -> the next sequence (8, LE; never reused, also after every event is
//   pruned); "shipped" -> the last sequence the collector is known to hold (8, LE).
//
// Threads: one writer, the control thread (append, prune); the shipper thread records its progress
// with set_shipped() (LMDB serialises the two writers); read(), find_time() and shipped() may run on
// any thread. Failure policy: a failed commit leaves the batch with the caller (the writer holds it
// and tries again) and the environment is reopened before the next write, as the store lanes do;
// a full spool first gives up shipped events past retention, then the oldest shipped ones, and only
// then refuses new events; events not yet shipped are never pruned while shipping is on. Events the
// writer finally gives up are counted here (count_dropped), so metrics and alarms see them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "crypto/secret_bytes.h"
#include "store/lmdb.h"

namespace vmx {

inline constexpr std::size_t log_key_bytes = 32;

struct LogSpoolOptions {
    std::uint64_t bytes_max = std::uint64_t{4096} << 20;  // [log] spool_mib_max
    std::uint32_t retention_days = 400;                    // [log] retention_days
    bool shipping = false;                                 // [log] ship_to set: keep what is not shipped
};

struct LogEvent {
    std::uint64_t sequence = 0;
    std::string line;
};

inline constexpr std::string_view log_spool_key_name = "log-spool";

class LogSpool {
public:
    // The spool's first key, from the master key (HKDF-SHA256, info "vaultmx log spool v1"); the key
    // store then holds it wrapped under the master key as log_spool_key_name (KeyStore::held_key).
    static Result<crypto::SecretBytes> derive_key(std::span<const std::uint8_t> master_key);
    // Opens (creating) the spool in `folder` (created 0700 if absent).
    static Result<std::unique_ptr<LogSpool>> open(const std::string& folder, crypto::SecretBytes key,
                                                  const LogSpoolOptions& options);

    // Writer: the sequence the next appended line will have (lines are formatted with it first).
    std::uint64_t next_sequence() const noexcept { return next_.load(std::memory_order_acquire); }
    // Writer: seals and stores `lines` as next_sequence(), +1, ... in one durable commit.
    Result<void> append(std::span<const std::string> lines);
    // Writer: removes events older than retention (by their timestamp, RFC 3339 in UTC) and, past
    // the size cap, the oldest; never an unshipped one while shipping is on. Returns how many went.
    Result<std::uint64_t> prune(std::uint64_t now_us);

    // Up to `count` events from sequence `from` on (fewer when `bytes_max` of lines is reached).
    Result<std::vector<LogEvent>> read(std::uint64_t from, std::size_t count, std::size_t bytes_max) const;
    // The first sequence whose timestamp is at or after `timestamp` (RFC 3339 UTC, as the lines
    // write it; compared as text, which orders them), by binary search; next_sequence() if none.
    Result<std::uint64_t> find_time(std::string_view timestamp) const;
    Result<std::uint64_t> shipped() const;
    Result<void> set_shipped(std::uint64_t sequence);

    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
    void count_dropped(std::uint64_t count) noexcept { dropped_.fetch_add(count, std::memory_order_relaxed); }
    std::uint64_t bytes_used() const;
    const std::string& folder() const noexcept { return folder_; }

private:
    LogSpool(std::string folder, std::unique_ptr<store::Env> env, store::Dbi events, store::Dbi meta,
             crypto::SecretBytes key, const LogSpoolOptions& options);
    Result<void> append_once(std::span<const std::string> lines);
    Result<std::uint64_t> erase_before(std::uint64_t sequence, std::uint64_t count_max);
    Result<std::string> open_line(std::uint64_t sequence, std::span<const std::uint8_t> sealed) const;
    Result<std::uint64_t> first_sequence() const;
    void reopen_after(std::error_code error);

    std::string folder_;
    std::unique_ptr<store::Env> env_;
    store::Dbi events_;
    store::Dbi meta_;
    crypto::SecretBytes key_;
    LogSpoolOptions options_;
    std::atomic<std::uint64_t> next_{1};
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace vmx
