// The sealed log spool (see log_spool.h).
#include "appliance/ops/log_spool.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "appliance/ops/log_line.h"
#include "core/log_sink.h"
#include "crypto/hkdf.h"
#include "crypto/sealed_record.h"

namespace vmx {
namespace {

constexpr std::uint64_t day_us = std::uint64_t{86400} * 1000000;
constexpr std::uint64_t erase_batch_max = 100000;  // events per prune transaction: bounded commits
constexpr std::size_t initial_map_bytes = std::size_t{16} << 20;
constexpr std::array<std::uint8_t, 4> meta_next{'n', 'e', 'x', 't'};
constexpr std::array<std::uint8_t, 7> meta_shipped{'s', 'h', 'i', 'p', 'p', 'e', 'd'};

std::array<std::uint8_t, 8> sequence_key(std::uint64_t sequence) {
    std::array<std::uint8_t, 8> key{};
    for (int i = 7; i >= 0; --i, sequence >>= 8) key[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(sequence);
    return key;
}

std::uint64_t sequence_of(store::Bytes key) {
    std::uint64_t v = 0;
    for (const std::uint8_t b : key) v = (v << 8) | b;
    return v;
}

std::array<std::uint8_t, 8> le64(std::uint64_t v) {
    std::array<std::uint8_t, 8> out{};
    for (auto& b : out) b = static_cast<std::uint8_t>(v), v >>= 8;
    return out;
}

std::uint64_t from_le64(store::Bytes bytes) {
    std::uint64_t v = 0;
    for (std::size_t i = std::min<std::size_t>(bytes.size(), 8); i > 0; --i) v = (v << 8) | bytes[i - 1];
    return v;
}

crypto::RecordIdentity identity_of(std::uint64_t sequence) {
    crypto::RecordIdentity id;
    id.store = crypto::StoreKind::log;
    id.record_id = sequence;
    id.key = crypto::KeyRef{0, 1};
    return id;
}

std::span<const std::uint8_t, log_key_bytes> key_span(const crypto::SecretBytes& key) {
    return std::span<const std::uint8_t, log_key_bytes>(key.view().data(), log_key_bytes);
}

store::Bytes bytes_of(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

}  // namespace

Result<crypto::SecretBytes> LogSpool::derive_key(std::span<const std::uint8_t> master_key) {
    return crypto::hkdf_sha256(master_key, {}, "vaultmx log spool v1", log_key_bytes);
}

LogSpool::LogSpool(std::string folder, std::unique_ptr<store::Env> env, store::Dbi events, store::Dbi meta,
                   crypto::SecretBytes key, const LogSpoolOptions& options)
    : folder_(std::move(folder)), env_(std::move(env)), events_(events), meta_(meta), key_(std::move(key)),
      options_(options) {}

Result<std::unique_ptr<LogSpool>> LogSpool::open(const std::string& folder, crypto::SecretBytes key,
                                                 const LogSpoolOptions& options) {
    if (key.size() != log_key_bytes) return fail(std::make_error_code(std::errc::invalid_argument));
    if (::mkdir(folder.c_str(), 0700) != 0 && errno != EEXIST) return fail_errno(errno);
    store::EnvOptions env_options;
    env_options.map_bytes_max = std::max<std::size_t>(options.bytes_max, initial_map_bytes);
    env_options.map_bytes = initial_map_bytes;
    env_options.dbs_max = 2;
    auto env = store::Env::open(folder, env_options);
    if (!env) return fail(env.error());
    auto events = (*env)->open_dbi("events");
    if (!events) return fail(events.error());
    auto meta = (*env)->open_dbi("meta");
    if (!meta) return fail(meta.error());
    std::unique_ptr<LogSpool> spool(new LogSpool(folder, std::move(*env), *events, *meta, std::move(key), options));
    auto txn = store::ReadTxn::begin(*spool->env_);
    if (!txn) return fail(txn.error());
    if (auto next = txn->get(spool->meta_, meta_next)) spool->next_.store(std::max<std::uint64_t>(from_le64(*next), 1));
    else if (next.error() != store::StoreErrc::not_found) return fail(next.error());
    return spool;
}

Result<void> LogSpool::append(std::span<const std::string> lines) {
    if (lines.empty()) return {};
    auto done = append_once(lines);
    for (int attempt = 0; !done && done.error() == store::StoreErrc::map_full && attempt < 3; ++attempt) {
        // Grow up to the cap; at the cap, make room by pruning (which keeps what is not shipped).
        if (!env_->grow()) {
            auto first_kept = first_sequence();
            const std::uint64_t first = first_kept ? *first_kept : next_sequence();
            const std::uint64_t span = next_sequence() - first;
            auto erased = erase_before(first + std::max<std::uint64_t>(span / 10, 1), erase_batch_max);
            if (!erased || *erased == 0) break;
        }
        done = append_once(lines);
    }
    if (!done) reopen_after(done.error());
    return done;
}

// After a failed commit the page cache may hold pages the disk never took (fsyncgate, PLATFORM.md):
// the environment is closed and opened again before the next write. A full map is not such a failure.
void LogSpool::reopen_after(std::error_code error) {
    if (error == store::StoreErrc::map_full) return;
    (void)env_->reopen();  // if this fails too, the next commit fails and tries again
}

Result<void> LogSpool::append_once(std::span<const std::string> lines) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    std::uint64_t sequence = next_sequence();
    for (const std::string& line : lines) {
        auto sealed = crypto::seal(key_span(key_), identity_of(sequence), bytes_of(line));
        if (!sealed) return fail(sealed.error());
        if (auto put = txn->put(events_, sequence_key(sequence), *sealed); !put) return fail(put.error());
        ++sequence;
    }
    if (auto put = txn->put(meta_, meta_next, le64(sequence)); !put) return fail(put.error());
    if (auto committed = txn->commit(); !committed) return fail(committed.error());
    next_.store(sequence, std::memory_order_release);
    return {};
}

Result<std::uint64_t> LogSpool::prune(std::uint64_t now_us) {
    const std::uint64_t horizon_us = std::uint64_t{options_.retention_days} * day_us;
    if (now_us <= horizon_us) return std::uint64_t{0};
    auto keep_from = find_time(format_log_time(now_us - horizon_us));
    if (!keep_from) return fail(keep_from.error());
    return erase_before(*keep_from, erase_batch_max);
}

// Removes events below `sequence` (and, while shipping, only shipped ones), at most count_max.
Result<std::uint64_t> LogSpool::erase_before(std::uint64_t sequence, std::uint64_t count_max) {
    if (options_.shipping) {
        auto shipped_to = shipped();
        if (!shipped_to) return fail(shipped_to.error());
        sequence = std::min(sequence, *shipped_to + 1);
    }
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    std::uint64_t erased = 0;
    {
        auto cursor = store::Cursor::open(*txn, events_);
        if (!cursor) return fail(cursor.error());
        std::vector<std::uint64_t> doomed;
        for (auto entry = cursor->first(); entry && *entry && doomed.size() < count_max; entry = cursor->next()) {
            const std::uint64_t s = sequence_of((*entry)->key);
            if (s >= sequence) break;
            doomed.push_back(s);
        }
        for (const std::uint64_t s : doomed) {
            auto gone = txn->erase(events_, sequence_key(s));
            if (!gone) return fail(gone.error());
            ++erased;
        }
    }
    if (erased == 0) {
        txn->abort();
        return erased;
    }
    if (auto committed = txn->commit(); !committed) {
        reopen_after(committed.error());
        return fail(committed.error());
    }
    return erased;
}

Result<std::string> LogSpool::open_line(std::uint64_t sequence, std::span<const std::uint8_t> sealed) const {
    auto plain = crypto::open(key_span(key_), identity_of(sequence), sealed);
    if (!plain) return fail(plain.error());
    return std::string(plain->begin(), plain->end());
}

Result<std::vector<LogEvent>> LogSpool::read(std::uint64_t from, std::size_t count, std::size_t bytes_max) const {
    std::vector<LogEvent> out;
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto cursor = store::Cursor::open(*txn, events_);
    if (!cursor) return fail(cursor.error());
    std::size_t bytes = 0;
    for (auto entry = cursor->seek(sequence_key(from)); out.size() < count && bytes < bytes_max; entry = cursor->next()) {
        if (!entry) return fail(entry.error());
        if (!*entry) break;
        const std::uint64_t sequence = sequence_of((*entry)->key);
        auto line = open_line(sequence, (*entry)->value);
        if (!line) return fail(line.error());
        bytes += line->size();
        out.push_back(LogEvent{sequence, std::move(*line)});
    }
    return out;
}

Result<std::uint64_t> LogSpool::first_sequence() const {
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto cursor = store::Cursor::open(*txn, events_);
    if (!cursor) return fail(cursor.error());
    auto entry = cursor->first();
    if (!entry) return fail(entry.error());
    return *entry ? sequence_of((**entry).key) : next_sequence();
}

Result<std::uint64_t> LogSpool::find_time(std::string_view timestamp) const {
    auto low = first_sequence();  // sequences are dense from the first kept one to next - 1
    if (!low) return fail(low.error());
    std::uint64_t lo = *low;
    std::uint64_t hi = next_sequence();
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        auto events = read(mid, 1, 1);
        if (!events) return fail(events.error());
        if (events->empty()) {
            hi = mid;
            continue;
        }
        const auto fields = parse_log_line(events->front().line);
        if (fields && fields->timestamp < timestamp)
            lo = events->front().sequence + 1;
        else
            hi = mid;
    }
    return lo;
}

Result<std::uint64_t> LogSpool::shipped() const {
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto value = txn->get(meta_, meta_shipped);
    if (!value) return value.error() == store::StoreErrc::not_found ? Result<std::uint64_t>(0) : fail(value.error());
    return from_le64(*value);
}

Result<void> LogSpool::set_shipped(std::uint64_t sequence) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto put = txn->put(meta_, meta_shipped, le64(sequence)); !put) return fail(put.error());
    auto committed = txn->commit();
    if (!committed) reopen_after(committed.error());
    return committed;
}

std::uint64_t LogSpool::bytes_used() const {
    auto used = env_->bytes_used();
    return used ? *used : 0;
}

}  // namespace vmx
