// Temporary records of one segment (spools, exports) in its `temp` environment: every record has
// an expiry; get() never returns an expired record, even before sweep() has removed it.
// Threads: a TempStore belongs to the shard that owns the segment (the environment's one writer:
// ids are allocated here, writes go through its store lane or a WriteTxn); reads take any ReadTxn.
//
// Database "temp": key = record key (store/record_key.h: owner = owning user id or 0, object = temp
//   record id, part = the record's kind) || expiry (u64 BE, unix seconds) -> the sealed value, whose
//   plaintext is expiry (u64 LE) || data. The expiry is not customer data, so it may sit in the key in
//   clear; the sealed copy makes a changed key expiry detectable (get fails with corrupt). The
//   identity is {temp, segment, owner, (id << 4) | kind}, rebuilt from the key's first 16 bytes
//   (rewrap job). The kind (0..15, 0 for a plain record) is the writer's label, so an owner's
//   records can be told apart by their keys alone (list), without opening them (a staged export's
//   manifest from its parts); a record's id alone still names it (get, erase).
// Database "temp_expiry": expiry (u64 BE) || record key -> empty: the sweep walks it in time order.
// Database "temp_counters": "next_record_id" -> u64 LE; ids start at 1 and are never reused.
// Scope: the caller names it per put (the owning user's scope by plan, the appliance scope for
// owner 0); get needs none, the record names its key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lane.h"
#include "store/lmdb.h"
#include "store/record_key.h"

namespace vmx::store {

struct TempOptions {
    std::int64_t ttl_s = std::int64_t{24} * 3600;         // default lifetime of a record
    std::size_t value_bytes_max = std::size_t{64} << 20;  // one record's data
};

// Kinds are 0 .. temp_kinds - 1: the part bits of the record key.
inline constexpr std::uint8_t temp_kinds = 1u << record_part_bits;

struct TempRecordRef {
    std::uint64_t owner = 0;
    std::uint64_t id = 0;
    std::int64_t expires_unix = 0;
    std::uint8_t kind = 0;
};

struct PreparedTempPut {
    TempRecordRef ref;
    std::vector<WriteOp> ops;  // one WriteRequest on the store lane
};

class TempStore {
public:
    // Opens (creating) the databases and reads the next id. Writer thread, before the lane starts.
    static Result<TempStore> open(Env& env, std::uint32_t segment, const TempOptions& options = {});

    // A new record of `kind` expiring at expires_unix (default now_unix + ttl_s). invalid_request for
    // data over value_bytes_max, an expiry before 0 or a kind past temp_kinds; crypto errors from
    // sealing.
    Result<PreparedTempPut> prepare_put(const crypto::KeySet& keys, const crypto::Scope& scope, std::uint64_t owner,
                                        Bytes data, std::int64_t now_unix,
                                        std::optional<std::int64_t> expires_unix = std::nullopt,
                                        std::uint8_t kind = 0);
    Result<TempRecordRef> put(WriteTxn& txn, const crypto::KeySet& keys, const crypto::Scope& scope,
                              std::uint64_t owner, Bytes data, std::int64_t now_unix,
                              std::optional<std::int64_t> expires_unix = std::nullopt, std::uint8_t kind = 0);

    // The data; not_found when absent or expired at now_unix (expires_unix <= now_unix), a crypto
    // error for a tampered or moved record, corrupt when the key's expiry was changed.
    template <class Txn>
    Result<std::vector<std::uint8_t>> get(Txn& txn, const crypto::KeySet& keys, std::uint64_t owner, std::uint64_t id,
                                          std::int64_t now_unix) const;
    // True when the record existed (expired or not).
    Result<bool> erase(WriteTxn& txn, std::uint64_t owner, std::uint64_t id);
    // The owner's records from id from_id on, in id order, at most max_records: expired ones too
    // until the sweep removed them (the caller compares expires_unix with its clock). Keys only.
    template <class Txn>
    Result<std::vector<TempRecordRef>> list(Txn& txn, std::uint64_t owner, std::uint64_t from_id,
                                            std::size_t max_records) const;

    // Deletes up to max_records records that expired at now_unix, oldest expiry first; how many.
    // Each call continues where the last stopped (the removed ones are gone from the index), so a
    // caller runs it in small transactions until it returns less than max_records.
    Result<std::size_t> sweep(WriteTxn& txn, std::int64_t now_unix, std::size_t max_records);

    Dbi records() const noexcept { return records_; }
    std::uint32_t segment() const noexcept { return segment_; }
    std::uint64_t next_id() const noexcept { return next_id_; }
    std::int64_t ttl_s() const noexcept { return options_.ttl_s; }

private:
    TempStore(std::uint32_t segment, const TempOptions& options, Dbi records, Dbi expiry, Dbi counters)
        : segment_(segment), options_(options), records_(records), expiry_(expiry), counters_(counters) {}

    std::uint32_t segment_;
    TempOptions options_;
    Dbi records_;
    Dbi expiry_;
    Dbi counters_;
    std::uint64_t next_id_ = 1;
};

}  // namespace vmx::store
