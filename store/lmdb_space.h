// LmdbSpace: the storage seam (store/backend.h) over one LMDB environment, the embedded default for
// one box. Tables are named databases; blobs live in a database of their own ("vmx.blobs") and
// leases in another ("vmx.leases": holder and expiry in wall-clock milliseconds, so two processes
// on one box see the same lease). A commit is one write transaction, with every expectation checked
// inside it, so it is atomic and serialised with every other writer of the environment.
// Threads: any; writes take turns (LMDB has one writer; a map grow needs no write transaction open),
// and a Snapshot holds a read transaction (keep it short: a map grow waits for it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/backend.h"
#include "store/lmdb.h"

namespace vmx::store {

class LmdbSpace final : public Space {
public:
    // Opens (creating data.mdb in the existing folder `path`) with room for tables_max tables.
    static Result<std::unique_ptr<LmdbSpace>> open(const std::string& path, EnvOptions options = {},
                                                   unsigned tables_max = 16);

    Result<Table> table(std::string_view name) override;
    Result<std::unique_ptr<Snapshot>> snapshot() override;
    Result<std::unique_ptr<Snapshot>> latest() override;
    Result<void> commit(const Batch& batch) override;
    void commit_async(Batch batch, std::function<void(std::error_code)> done) override;
    Result<void> put_blob(ByteView name, ByteView data) override;
    Result<std::optional<ByteString>> read_blob(ByteView name, std::uint64_t offset, std::size_t max) override;
    Result<bool> erase_blob(ByteView name) override;
    Result<void> acquire_lease(std::string_view name, std::string_view holder, std::uint32_t duration_ms) override;
    Result<void> release_lease(std::string_view name, std::string_view holder) override;
    std::string_view backend_name() const noexcept override { return "lmdb"; }

    // The wall clock in milliseconds that leases are measured against (tests move it).
    void set_clock(std::function<std::uint64_t()> now_ms) { now_ms_ = std::move(now_ms); }
    Env& env() noexcept { return *env_; }

private:
    explicit LmdbSpace(std::unique_ptr<Env> env) : env_(std::move(env)) {}
    Result<Dbi> dbi_of(Table t);
    // One write transaction running fn, grown and run again while the map is full.
    Result<void> write(const std::function<Result<void>(WriteTxn&)>& fn);
    Result<void> check_expectation(WriteTxn& txn, const Expect& e, std::uint64_t now_ms);

    std::unique_ptr<Env> env_;
    std::mutex write_mutex_;  // one writer at a time, so a map grow never meets a live write transaction
    Dbi blobs_;
    Dbi leases_;
    std::mutex tables_mutex_;
    std::vector<std::pair<std::string, Dbi>> tables_;  // Table::id indexes it
    std::function<std::uint64_t()> now_ms_;
};

}  // namespace vmx::store
