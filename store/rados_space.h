// RadosSpace: the storage seam (store/backend.h) on a Ceph cluster through librados. A space is one
// RADOS object (in the pool and namespace of [rados]) whose omap holds every table's entries
// (store/omap_key.h), so a batch is one compound write operation on one object: RADOS applies it
// whole or not at all, with the expectations as omap_cmp steps and a lease as the lock class's
// assert_locked step in the same operation. Blobs are objects of their own, "<space>.blob.<hex>".
// A value over omap_inline_max bytes (a body chunk) is an object of its own, "<space>.v.<sha256>",
// the omap entry a reference to it (store/rados_values.cc says when each is written and removed).
// Leases are RADOS exclusive locks with a duration on the space object, the holder as the cookie.
// Snapshots pin the object's version: every read asserts it, and fails with StoreErrc::conflict
// once the object changed (a lease renewal changes it too).
//
// Failure policy: every operation is bounded by [rados] timeout_s (client_mount_timeout,
// rados_osd_op_timeout, rados_mon_op_timeout); a timeout or a lost cluster is StoreErrc::unavailable
// (the caller answers 451 and nothing acknowledged is lost, since a commit succeeds only once the
// OSDs have it). librados retries on its own behind that bound.
// Threads: a RadosCluster and its spaces may be used from any thread; commit_async's `done` runs on
// one of librados' own threads.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "store/backend.h"
#include "store/omap_key.h"
#include "store/rados_handles.h"

namespace vmx::store {

struct RadosOptions {
    std::string conf;                // ceph.conf of the cluster
    std::string pool = "vaultmx";
    std::string ns;                  // the RADOS namespace every object of this appliance lives in
    std::uint32_t timeout_s = 30;
};

// The error for a negative librados return value.
std::error_code rados_error(int rc) noexcept;
// The SHA-256 that names a value kept outside the omap: of its table, key and bytes.
Result<ValueDigest> value_digest(std::string_view table, ByteView key, ByteView value);

class RadosCluster {
public:
    static Result<std::shared_ptr<RadosCluster>> connect(const RadosOptions& options);
    rados_t raw() const noexcept { return connection_.get(); }
    const RadosOptions& options() const noexcept { return options_; }
    // A new I/O context on the pool and namespace.
    Result<RadosIoCtx> io() const;

private:
    RadosCluster(RadosConnection connection, RadosOptions options)
        : connection_(std::move(connection)), options_(std::move(options)) {}
    RadosConnection connection_;
    RadosOptions options_;
};

class RadosSpace final : public Space {
public:
    // Opens the space named `object` (created when absent).
    static Result<std::unique_ptr<RadosSpace>> open(std::shared_ptr<RadosCluster> cluster, std::string object);

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
    std::string_view backend_name() const noexcept override { return "rados"; }

    const std::string& object() const noexcept { return object_; }
    // Every omap entry of the space as stored (names and values, concatenated): what Ceph holds, for
    // the checks that it holds no clear text.
    Result<ByteString> stored_bytes();
    std::string blob_object(ByteView name) const;
    // The table's name (for the omap prefix); empty for an unknown table.
    std::string table_name(Table t);
    // The value a stored omap entry holds (read from its object when kept outside); conflict when
    // that object is gone (the entry changed since it was read), corrupt for a malformed entry.
    Result<ByteString> stored_value(ByteView stored);

private:
    RadosSpace(std::shared_ptr<RadosCluster> cluster, RadosIoCtx io, RadosIoCtx version_io, std::string object)
        : cluster_(std::move(cluster)), io_(std::move(io)), version_io_(std::move(version_io)),
          object_(std::move(object)) {}
    // The write operation for a checked batch.
    // The digest of each change's value kept outside (none for the others), once per batch.
    using Digests = std::vector<std::optional<ValueDigest>>;
    Result<Digests> outside_digests(const Batch& batch, const std::vector<std::string>& names);
    Result<RadosWriteOp> build(const Batch& batch, const std::vector<std::string>& names, const Digests& digests);
    Result<std::vector<std::string>> checked_names(const Batch& batch);
    // The batch's values kept outside, written before its commit: the objects this attempt created,
    // and those of the values its commit replaces or erases.
    struct ValueWork {
        std::vector<std::string> written;
        std::vector<std::string> replaced;
    };
    Result<ValueWork> write_values(const Batch& batch, const std::vector<std::string>& names, const Digests& digests);
    void remove_values(const std::vector<std::string>& oids, bool wait = true);
    // After the commit: the outcome decides which objects nothing refers to (rados_values.cc).
    void settle_values(const ValueWork& work, int rc, bool wait = true);
    Result<ByteString> read_value(const ValueDigest& digest);
    Result<ByteString> stored_form(std::string_view table, ByteView key, ByteView value);
    struct AsyncCommit;
    static void on_commit_complete(rados_completion_t completion, void* arg);
    Result<std::uint64_t> current_version();

    std::shared_ptr<RadosCluster> cluster_;
    RadosIoCtx io_;
    RadosIoCtx version_io_;  // only under version_mutex_: its last version is per context
    std::mutex version_mutex_;
    std::string object_;
    std::mutex tables_mutex_;
    std::vector<std::string> tables_;  // Table::id indexes it
};

}  // namespace vmx::store
