#include "store/lmdb_space.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vmx::store {
namespace {

constexpr int grow_attempts_max = 16;

std::uint64_t wall_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

ByteView view(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

// A lease record: expiry (u64 LE, wall-clock ms) || holder.
struct LeaseRecord {
    std::uint64_t expires_ms = 0;
    std::string holder;
};

ByteString encode_lease(std::string_view holder, std::uint64_t expires_ms) {
    ByteString out(8 + holder.size());
    std::memcpy(out.data(), &expires_ms, 8);
    std::memcpy(out.data() + 8, holder.data(), holder.size());
    return out;
}

std::optional<LeaseRecord> decode_lease(ByteView v) {
    if (v.size() < 9) return std::nullopt;
    LeaseRecord r;
    std::memcpy(&r.expires_ms, v.data(), 8);
    r.holder.assign(reinterpret_cast<const char*>(v.data()) + 8, v.size() - 8);
    return r;
}

// The live lease under name, if any.
Result<std::optional<LeaseRecord>> live_lease(WriteTxn& txn, Dbi leases, std::string_view name, std::uint64_t now) {
    auto got = txn.get(leases, view(name));
    if (!got) {
        if (got.error() == StoreErrc::not_found) return std::optional<LeaseRecord>{};
        return fail(got.error());
    }
    auto lease = decode_lease(*got);
    if (!lease) return fail(StoreErrc::corrupt);
    if (lease->expires_ms <= now) return std::optional<LeaseRecord>{};
    return lease;
}

class LmdbSnapshot final : public Snapshot {
public:
    LmdbSnapshot(ReadTxn txn, std::function<Result<Dbi>(Table)> dbi_of)
        : txn_(std::move(txn)), dbi_of_(std::move(dbi_of)) {}

    Result<std::optional<ByteString>> get(Table table, ByteView key) override {
        auto dbi = dbi_of_(table);
        if (!dbi) return fail(dbi.error());
        if (key.empty() || key.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
        auto got = txn_.get(*dbi, key);
        if (!got) {
            if (got.error() == StoreErrc::not_found) return std::optional<ByteString>{};
            return fail(got.error());
        }
        return std::optional<ByteString>(ByteString(got->begin(), got->end()));
    }

    Result<std::vector<KeyValue>> scan(Table table, ByteView from, std::size_t max) override {
        auto dbi = dbi_of_(table);
        if (!dbi) return fail(dbi.error());
        if (from.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
        max = std::min(max, backend_scan_max);
        std::vector<KeyValue> out;
        auto cursor = Cursor::open(txn_, *dbi);
        if (!cursor) return fail(cursor.error());
        auto entry = from.empty() ? cursor->first() : cursor->seek(from);
        while (out.size() < max) {
            if (!entry) return fail(entry.error());
            if (!*entry) break;
            out.push_back({ByteString((*entry)->key.begin(), (*entry)->key.end()),
                           ByteString((*entry)->value.begin(), (*entry)->value.end())});
            entry = cursor->next();
        }
        return out;
    }

private:
    ReadTxn txn_;
    std::function<Result<Dbi>(Table)> dbi_of_;
};

// Each call in a read transaction of its own.
class LmdbLatest final : public Snapshot {
public:
    explicit LmdbLatest(LmdbSpace& space) : space_(space) {}
    Result<std::optional<ByteString>> get(Table table, ByteView key) override {
        auto snap = space_.snapshot();
        if (!snap) return fail(snap.error());
        return (*snap)->get(table, key);
    }
    Result<std::vector<KeyValue>> scan(Table table, ByteView from, std::size_t max) override {
        auto snap = space_.snapshot();
        if (!snap) return fail(snap.error());
        return (*snap)->scan(table, from, max);
    }

private:
    LmdbSpace& space_;
};

}  // namespace

Result<std::unique_ptr<LmdbSpace>> LmdbSpace::open(const std::string& path, EnvOptions options, unsigned tables_max) {
    options.dbs_max = tables_max + 2;
    auto env = Env::open(path, options);
    if (!env) return fail(env.error());
    std::unique_ptr<LmdbSpace> space(new LmdbSpace(std::move(*env)));
    auto blobs = space->env_->open_dbi("vmx.blobs");
    if (!blobs) return fail(blobs.error());
    auto leases = space->env_->open_dbi("vmx.leases");
    if (!leases) return fail(leases.error());
    space->blobs_ = *blobs;
    space->leases_ = *leases;
    space->now_ms_ = wall_ms;
    return space;
}

Result<Table> LmdbSpace::table(std::string_view name) {
    if (!valid_table_name(name)) return fail(StoreErrc::invalid_request);
    std::lock_guard lock(tables_mutex_);
    for (std::size_t i = 0; i < tables_.size(); ++i)
        if (tables_[i].first == name) return Table{static_cast<std::uint32_t>(i)};
    auto dbi = env_->open_dbi(std::string(name).c_str());
    if (!dbi) return fail(dbi.error());
    tables_.emplace_back(std::string(name), *dbi);
    return Table{static_cast<std::uint32_t>(tables_.size() - 1)};
}

Result<Dbi> LmdbSpace::dbi_of(Table t) {
    std::lock_guard lock(tables_mutex_);
    if (t.id >= tables_.size()) return fail(StoreErrc::invalid_request);
    return tables_[t.id].second;
}

Result<std::unique_ptr<Snapshot>> LmdbSpace::snapshot() {
    auto txn = ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    return std::unique_ptr<Snapshot>(
        std::make_unique<LmdbSnapshot>(std::move(*txn), [this](Table t) { return dbi_of(t); }));
}

Result<std::unique_ptr<Snapshot>> LmdbSpace::latest() {
    return std::unique_ptr<Snapshot>(std::make_unique<LmdbLatest>(*this));
}

Result<void> LmdbSpace::write(const std::function<Result<void>(WriteTxn&)>& fn) {
    std::lock_guard lock(write_mutex_);
    for (int attempt = 0;; ++attempt) {
        auto txn = WriteTxn::begin(*env_);
        if (!txn) return fail(txn.error());
        auto applied = fn(*txn);
        if (applied) applied = txn->commit();
        if (applied || applied.error() != StoreErrc::map_full || attempt == grow_attempts_max) return applied;
        txn->abort();
        if (auto grown = env_->grow(); !grown) return fail(grown.error());
    }
}

Result<void> LmdbSpace::check_expectation(WriteTxn& txn, const Expect& e, std::uint64_t now_ms) {
    if (e.kind == ExpectKind::lease_held) {
        const std::string_view name(reinterpret_cast<const char*>(e.key.data()), e.key.size());
        auto lease = live_lease(txn, leases_, name, now_ms);
        if (!lease) return fail(lease.error());
        const std::string_view holder(reinterpret_cast<const char*>(e.value.data()), e.value.size());
        if (!*lease || (*lease)->holder != holder) return fail(StoreErrc::conflict);
        return {};
    }
    auto dbi = dbi_of(e.table);
    if (!dbi) return fail(dbi.error());
    auto got = txn.get(*dbi, e.key);
    if (!got && got.error() != StoreErrc::not_found) return fail(got.error());
    const bool present = got.has_value();
    switch (e.kind) {
        case ExpectKind::absent: return present ? fail(StoreErrc::conflict) : Result<void>{};
        case ExpectKind::present: return present ? Result<void>{} : fail(StoreErrc::conflict);
        case ExpectKind::equals:
            return present && std::equal(got->begin(), got->end(), e.value.begin(), e.value.end())
                       ? Result<void>{}
                       : fail(StoreErrc::conflict);
        case ExpectKind::lease_held: break;
    }
    return {};
}

Result<void> LmdbSpace::commit(const Batch& batch) {
    {
        std::lock_guard lock(tables_mutex_);
        if (auto bad = check_batch(batch, tables_.size())) return fail(bad);
    }
    const std::uint64_t now = now_ms_();
    return write([&](WriteTxn& txn) -> Result<void> {
        for (const Expect& e : batch.expects)
            if (auto held = check_expectation(txn, e, now); !held) return held;
        for (const Change& c : batch.changes) {
            auto dbi = dbi_of(c.table);
            if (!dbi) return fail(dbi.error());
            if (c.kind == ChangeKind::put) {
                if (auto put = txn.put(*dbi, c.key, c.value); !put) return put;
            } else if (auto erased = txn.erase(*dbi, c.key); !erased) {
                return fail(erased.error());
            }
        }
        return {};
    });
}

void LmdbSpace::commit_async(Batch batch, std::function<void(std::error_code)> done) {
    auto committed = commit(batch);
    done(committed ? std::error_code{} : committed.error());
}

Result<void> LmdbSpace::put_blob(ByteView name, ByteView data) {
    if (name.empty() || name.size() > backend_key_bytes_max || data.size() > backend_blob_bytes_max)
        return fail(StoreErrc::invalid_request);
    return write([&](WriteTxn& txn) { return txn.put(blobs_, name, data); });
}

Result<std::optional<ByteString>> LmdbSpace::read_blob(ByteView name, std::uint64_t offset, std::size_t max) {
    if (name.empty() || name.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
    auto txn = ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto got = txn->get(blobs_, name);
    if (!got) {
        if (got.error() == StoreErrc::not_found) return std::optional<ByteString>{};
        return fail(got.error());
    }
    const std::uint64_t start = std::min<std::uint64_t>(offset, got->size());
    const std::size_t n = std::min<std::uint64_t>(max, got->size() - start);
    return std::optional<ByteString>(ByteString(got->begin() + static_cast<std::ptrdiff_t>(start),
                                                got->begin() + static_cast<std::ptrdiff_t>(start + n)));
}

Result<bool> LmdbSpace::erase_blob(ByteView name) {
    if (name.empty() || name.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
    bool existed = false;
    auto erased = write([&](WriteTxn& txn) -> Result<void> {
        auto e = txn.erase(blobs_, name);
        if (!e) return fail(e.error());
        existed = *e;
        return {};
    });
    if (!erased) return fail(erased.error());
    return existed;
}

Result<void> LmdbSpace::acquire_lease(std::string_view name, std::string_view holder, std::uint32_t duration_ms) {
    if (!valid_lease_text(name) || !valid_lease_text(holder) || duration_ms == 0) return fail(StoreErrc::invalid_request);
    const std::uint64_t now = now_ms_();
    return write([&](WriteTxn& txn) -> Result<void> {
        auto lease = live_lease(txn, leases_, name, now);
        if (!lease) return fail(lease.error());
        if (*lease && (*lease)->holder != holder) return fail(StoreErrc::lease_busy);
        return txn.put(leases_, view(name), encode_lease(holder, now + duration_ms));
    });
}

Result<void> LmdbSpace::release_lease(std::string_view name, std::string_view holder) {
    if (!valid_lease_text(name) || !valid_lease_text(holder)) return fail(StoreErrc::invalid_request);
    const std::uint64_t now = now_ms_();
    return write([&](WriteTxn& txn) -> Result<void> {
        auto lease = live_lease(txn, leases_, name, now);
        if (!lease) return fail(lease.error());
        if (!*lease || (*lease)->holder != holder) return fail(StoreErrc::not_found);
        auto erased = txn.erase(leases_, view(name));
        if (!erased) return fail(erased.error());
        return {};
    });
}

}  // namespace vmx::store
