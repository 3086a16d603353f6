#include "store/rados_space.h"

#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "store/omap_key.h"

namespace vmx::store {
namespace {

const char* chars(ByteView b) noexcept { return reinterpret_cast<const char*>(b.data()); }
std::string_view text(const ByteString& b) noexcept { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// The lock class's assert_locked input (Ceph's encoding of cls_lock_assert_op, version 1): a
// versioned envelope (struct_v, compat, u32 LE length) around name, type (1: exclusive), cookie and
// tag, each string as u32 LE length || bytes.
std::string assert_locked_input(std::string_view name, std::string_view cookie) {
    std::string body;
    const auto add = [&body](std::string_view s) {
        const auto n = static_cast<std::uint32_t>(s.size());
        body.append(reinterpret_cast<const char*>(&n), 4);
        body.append(s);
    };
    add(name);
    body += '\x01';
    add(cookie);
    add("");
    std::string out = "\x01\x01";
    const auto n = static_cast<std::uint32_t>(body.size());
    out.append(reinterpret_cast<const char*>(&n), 4);
    return out + body;
}

// A commit's failure: an expectation that did not hold comes back as ECANCELED (omap_cmp), EBUSY
// or ENOENT (the lease was lost or never held).
std::error_code commit_error(int rc, bool expects_lease) {
    if (rc == -ECANCELED || (expects_lease && (rc == -EBUSY || rc == -ENOENT))) return StoreErrc::conflict;
    return rados_error(rc);
}

bool expects_lease(const Batch& batch) {
    return std::any_of(batch.expects.begin(), batch.expects.end(),
                       [](const Expect& e) { return e.kind == ExpectKind::lease_held; });
}

struct OmapEntry {
    std::string name;
    ByteString value;
};

// Every entry the iterator holds.
std::vector<OmapEntry> drain(rados_omap_iter_t iter) {
    std::vector<OmapEntry> out;
    for (;;) {
        char* key = nullptr;
        char* val = nullptr;
        std::size_t key_len = 0;
        std::size_t val_len = 0;
        if (rados_omap_get_next2(iter, &key, &val, &key_len, &val_len) != 0 || key == nullptr) break;
        out.push_back({std::string(key, key_len), ByteString(val, val + val_len)});
    }
    return out;
}

class RadosSnapshot final : public Snapshot {
public:
    // version: every read asserts it; nothing: each read sees the latest state.
    RadosSnapshot(RadosSpace& space, rados_ioctx_t io, std::optional<std::uint64_t> version)
        : space_(space), io_(io), version_(version) {}

    Result<std::optional<ByteString>> get(Table table, ByteView key) override {
        const std::string name = space_.table_name(table);
        if (name.empty() || key.empty() || key.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
        const std::string k = omap_key(name, key);
        const char* keys[] = {k.c_str()};
        const std::size_t lens[] = {k.size()};
        RadosReadOp op(rados_create_read_op());
        if (version_) rados_read_op_assert_version(op.get(), *version_);
        rados_omap_iter_t raw = nullptr;
        int prval = 0;
        rados_read_op_omap_get_vals_by_keys2(op.get(), keys, 1, lens, &raw, &prval);
        const int rc = rados_read_op_operate(op.get(), io_, space_.object().c_str(), 0);
        RadosOmapIter iter(raw);
        if (rc < 0) return fail(rc == -ERANGE ? make_error_code(StoreErrc::conflict) : rados_error(rc));
        if (prval < 0) return fail(rados_error(prval));
        auto entries = drain(iter.get());
        if (entries.empty()) return std::optional<ByteString>{};
        auto value = space_.stored_value(entries.front().value);
        if (!value) return fail(value.error());
        return std::optional<ByteString>(std::move(*value));
    }

    Result<std::vector<KeyValue>> scan(Table table, ByteView from, std::size_t max) override {
        const std::string name = space_.table_name(table);
        if (name.empty() || from.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
        max = std::min(max, backend_scan_max);
        std::vector<KeyValue> out;
        if (max == 0) return out;
        const std::string start = omap_scan_start_after(name, from);
        const std::string prefix = omap_prefix(name);
        RadosReadOp op(rados_create_read_op());
        if (version_) rados_read_op_assert_version(op.get(), *version_);
        rados_omap_iter_t raw = nullptr;
        unsigned char more = 0;
        int prval = 0;
        rados_read_op_omap_get_vals2(op.get(), start.c_str(), prefix.c_str(), max, &raw, &more, &prval);
        const int rc = rados_read_op_operate(op.get(), io_, space_.object().c_str(), 0);
        RadosOmapIter iter(raw);
        if (rc < 0) return fail(rc == -ERANGE ? make_error_code(StoreErrc::conflict) : rados_error(rc));
        if (prval < 0) return fail(rados_error(prval));
        for (auto& entry : drain(iter.get())) {
            auto key = omap_key_decode(name, entry.name);
            if (!key) return fail(StoreErrc::corrupt);
            auto value = space_.stored_value(entry.value);
            if (!value) return fail(value.error());
            out.push_back({std::move(*key), std::move(*value)});
        }
        return out;
    }

private:
    RadosSpace& space_;
    rados_ioctx_t io_;
    std::optional<std::uint64_t> version_;
};

}  // namespace

// What an asynchronous commit keeps alive until librados calls back.
struct RadosSpace::AsyncCommit {
    RadosSpace* space = nullptr;
    RadosWriteOp op;
    RadosCompletion completion;
    ValueWork values;
    std::function<void(std::error_code)> done;
    bool expects_lease = false;
};

void RadosSpace::on_commit_complete(rados_completion_t completion, void* arg) {
    std::unique_ptr<AsyncCommit> ctx(static_cast<AsyncCommit*>(arg));
    const int rc = rados_aio_get_return_value(completion);
    ctx->space->settle_values(ctx->values, rc, false);
    ctx->done(rc < 0 ? commit_error(rc, ctx->expects_lease) : std::error_code{});
}

std::error_code rados_error(int rc) noexcept {
    switch (-rc) {
        case 0: return {};
        case ENOENT: return StoreErrc::not_found;
        case ECANCELED:
        case ERANGE: return StoreErrc::conflict;
        case EBUSY: return StoreErrc::lease_busy;
        case ENOSPC:
        case EDQUOT: return StoreErrc::disk_full;
        case EIO: return StoreErrc::io_error;
        case ETIMEDOUT:
        case ENOTCONN:
        case ESHUTDOWN:
        case ECONNREFUSED: return StoreErrc::unavailable;
        default: return {-rc, std::system_category()};
    }
}

Result<std::shared_ptr<RadosCluster>> RadosCluster::connect(const RadosOptions& options) {
    rados_t raw = nullptr;
    if (int rc = rados_create(&raw, nullptr); rc < 0) return fail(rados_error(rc));
    RadosConnection connection(raw);
    if (int rc = rados_conf_read_file(raw, options.conf.c_str()); rc < 0) return fail(rados_error(rc));
    const std::string timeout = std::to_string(options.timeout_s);
    for (const char* key : {"client_mount_timeout", "rados_osd_op_timeout", "rados_mon_op_timeout"})
        if (int rc = rados_conf_set(raw, key, timeout.c_str()); rc < 0) return fail(rados_error(rc));
    if (int rc = rados_connect(raw); rc < 0) return fail(rados_error(rc));
    std::shared_ptr<RadosCluster> cluster(new RadosCluster(std::move(connection), options));
    if (auto io = cluster->io(); !io) return fail(io.error());  // the pool exists
    return cluster;
}

Result<RadosIoCtx> RadosCluster::io() const {
    rados_ioctx_t raw = nullptr;
    if (int rc = rados_ioctx_create(connection_.get(), options_.pool.c_str(), &raw); rc < 0) return fail(rados_error(rc));
    RadosIoCtx io(raw);
    rados_ioctx_set_namespace(raw, options_.ns.c_str());
    return io;
}

Result<std::unique_ptr<RadosSpace>> RadosSpace::open(std::shared_ptr<RadosCluster> cluster, std::string object) {
    if (object.empty() || object.find('\0') != std::string::npos) return fail(StoreErrc::invalid_request);
    auto io = cluster->io();
    if (!io) return fail(io.error());
    auto version_io = cluster->io();
    if (!version_io) return fail(version_io.error());
    RadosWriteOp op(rados_create_write_op());
    rados_write_op_create(op.get(), LIBRADOS_CREATE_IDEMPOTENT, nullptr);
    if (int rc = rados_write_op_operate(op.get(), io->get(), object.c_str(), nullptr, 0); rc < 0)
        return fail(rados_error(rc));
    return std::unique_ptr<RadosSpace>(
        new RadosSpace(std::move(cluster), std::move(*io), std::move(*version_io), std::move(object)));
}

Result<Table> RadosSpace::table(std::string_view name) {
    if (!valid_table_name(name)) return fail(StoreErrc::invalid_request);
    std::lock_guard lock(tables_mutex_);
    for (std::size_t i = 0; i < tables_.size(); ++i)
        if (tables_[i] == name) return Table{static_cast<std::uint32_t>(i)};
    tables_.emplace_back(name);
    return Table{static_cast<std::uint32_t>(tables_.size() - 1)};
}

std::string RadosSpace::table_name(Table t) {
    std::lock_guard lock(tables_mutex_);
    return t.id < tables_.size() ? tables_[t.id] : std::string();
}

std::string RadosSpace::blob_object(ByteView name) const {
    return object_ + ".blob." + omap_key("", name).substr(1);
}

Result<std::uint64_t> RadosSpace::current_version() {
    std::lock_guard lock(version_mutex_);
    RadosReadOp op(rados_create_read_op());
    rados_read_op_assert_exists(op.get());
    if (int rc = rados_read_op_operate(op.get(), version_io_.get(), object_.c_str(), 0); rc < 0)
        return fail(rados_error(rc));
    return rados_get_last_version(version_io_.get());
}

Result<std::unique_ptr<Snapshot>> RadosSpace::snapshot() {
    auto version = current_version();
    if (!version) return fail(version.error());
    return std::unique_ptr<Snapshot>(std::make_unique<RadosSnapshot>(*this, io_.get(), *version));
}

Result<ByteString> RadosSpace::stored_bytes() {
    ByteString out;
    std::string after;
    for (;;) {
        RadosReadOp op(rados_create_read_op());
        rados_omap_iter_t raw = nullptr;
        unsigned char more = 0;
        int prval = 0;
        rados_read_op_omap_get_vals2(op.get(), after.c_str(), "", backend_scan_max, &raw, &more, &prval);
        const int rc = rados_read_op_operate(op.get(), io_.get(), object_.c_str(), 0);
        RadosOmapIter iter(raw);
        if (rc < 0) return fail(rados_error(rc));
        if (prval < 0) return fail(rados_error(prval));
        auto entries = drain(iter.get());
        for (const auto& e : entries) {
            out.insert(out.end(), e.name.begin(), e.name.end());
            out.insert(out.end(), e.value.begin(), e.value.end());
            if (!omap_reference_decode(e.value)) continue;
            auto value = stored_value(e.value);  // what its object holds
            if (!value) return fail(value.error());
            out.insert(out.end(), value->begin(), value->end());
        }
        if (!more || entries.empty()) return out;
        after = entries.back().name;
    }
}

Result<std::unique_ptr<Snapshot>> RadosSpace::latest() {
    return std::unique_ptr<Snapshot>(std::make_unique<RadosSnapshot>(*this, io_.get(), std::nullopt));
}

Result<std::vector<std::string>> RadosSpace::checked_names(const Batch& batch) {
    std::lock_guard lock(tables_mutex_);
    if (auto bad = check_batch(batch, tables_.size())) return fail(bad);
    return tables_;
}

// A value kept outside is stored, and compared, as its reference.
Result<ByteString> RadosSpace::stored_form(std::string_view table, ByteView key, ByteView value) {
    if (!omap_value_outside(value.size())) return omap_value(value);
    auto digest = value_digest(table, key, value);
    if (!digest) return fail(digest.error());
    return omap_reference(*digest);
}

Result<RadosSpace::Digests> RadosSpace::outside_digests(const Batch& batch, const std::vector<std::string>& names) {
    Digests out(batch.changes.size());
    for (std::size_t i = 0; i < batch.changes.size(); ++i) {
        const Change& c = batch.changes[i];
        if (c.kind != ChangeKind::put || !omap_value_outside(c.value.size())) continue;
        auto digest = value_digest(names[c.table.id], c.key, c.value);
        if (!digest) return fail(digest.error());
        out[i] = *digest;
    }
    return out;
}

Result<RadosWriteOp> RadosSpace::build(const Batch& batch, const std::vector<std::string>& names,
                                       const Digests& digests) {
    RadosWriteOp op(rados_create_write_op());
    rados_write_op_assert_exists(op.get());
    for (const Expect& e : batch.expects) {
        if (e.kind == ExpectKind::lease_held) {
            const std::string input = assert_locked_input(text(e.key), text(e.value));
            rados_write_op_exec(op.get(), "lock", "assert_locked", input.data(), input.size(), nullptr);
            continue;
        }
        const std::string key = omap_key(names[e.table.id], e.key);
        switch (e.kind) {
            case ExpectKind::absent:
                rados_write_op_omap_cmp2(op.get(), key.data(), LIBRADOS_CMPXATTR_OP_EQ, "", key.size(), 0, nullptr);
                break;
            case ExpectKind::present:
                rados_write_op_omap_cmp2(op.get(), key.data(), LIBRADOS_CMPXATTR_OP_GT, "", key.size(), 0, nullptr);
                break;
            case ExpectKind::equals: {
                auto stored = stored_form(names[e.table.id], e.key, e.value);
                if (!stored) return fail(stored.error());
                rados_write_op_omap_cmp2(op.get(), key.data(), LIBRADOS_CMPXATTR_OP_EQ, chars(*stored), key.size(),
                                         stored->size(), nullptr);
                break;
            }
            case ExpectKind::lease_held: break;
        }
    }
    for (std::size_t i = 0; i < batch.changes.size(); ++i) {
        const Change& c = batch.changes[i];
        const std::string key = omap_key(names[c.table.id], c.key);
        const char* keys[] = {key.data()};
        const std::size_t key_lens[] = {key.size()};
        if (c.kind == ChangeKind::erase) {
            rados_write_op_omap_rm_keys2(op.get(), keys, key_lens, 1);
            continue;
        }
        const ByteString stored = digests[i] ? omap_reference(*digests[i]) : omap_value(c.value);
        const char* vals[] = {chars(stored)};
        const std::size_t val_lens[] = {stored.size()};
        rados_write_op_omap_set2(op.get(), keys, vals, key_lens, val_lens, 1);
    }
    return op;
}

Result<void> RadosSpace::commit(const Batch& batch) {
    auto names = checked_names(batch);
    if (!names) return fail(names.error());
    auto digests = outside_digests(batch, *names);
    if (!digests) return fail(digests.error());
    auto op = build(batch, *names, *digests);
    if (!op) return fail(op.error());
    auto values = write_values(batch, *names, *digests);
    if (!values) return fail(values.error());
    const int rc = rados_write_op_operate(op->get(), io_.get(), object_.c_str(), nullptr, 0);
    settle_values(*values, rc);
    if (rc < 0) return fail(commit_error(rc, expects_lease(batch)));
    return {};
}

// The values kept outside are written on the calling thread (the store lane's), the batch after.
void RadosSpace::commit_async(Batch batch, std::function<void(std::error_code)> done) {
    auto names = checked_names(batch);
    if (!names) return done(names.error());
    auto digests = outside_digests(batch, *names);
    if (!digests) return done(digests.error());
    auto op = build(batch, *names, *digests);
    if (!op) return done(op.error());
    auto values = write_values(batch, *names, *digests);
    if (!values) return done(values.error());
    auto ctx = std::make_unique<AsyncCommit>();
    ctx->space = this;
    ctx->op = std::move(*op);
    ctx->values = std::move(*values);
    ctx->done = std::move(done);
    ctx->expects_lease = expects_lease(batch);
    rados_completion_t raw = nullptr;
    if (int rc = rados_aio_create_completion2(ctx.get(), on_commit_complete, &raw); rc < 0) {
        remove_values(ctx->values.written);  // the batch was never sent (this is the caller's thread)
        return ctx->done(rados_error(rc));
    }
    ctx->completion = RadosCompletion(raw);
    AsyncCommit* arg = ctx.get();
    if (int rc = rados_aio_write_op_operate(arg->op.get(), io_.get(), raw, object_.c_str(), nullptr, 0); rc < 0) {
        remove_values(ctx->values.written);
        return ctx->done(rados_error(rc));
    }
    (void)ctx.release();  // on_commit_complete owns it now
}

Result<void> RadosSpace::put_blob(ByteView name, ByteView data) {
    if (name.empty() || name.size() > backend_key_bytes_max || data.size() > backend_blob_bytes_max)
        return fail(StoreErrc::invalid_request);
    const std::string oid = blob_object(name);
    if (int rc = rados_write_full(io_.get(), oid.c_str(), chars(data), data.size()); rc < 0) return fail(rados_error(rc));
    return {};
}

Result<std::optional<ByteString>> RadosSpace::read_blob(ByteView name, std::uint64_t offset, std::size_t max) {
    if (name.empty() || name.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
    max = std::min(max, backend_blob_bytes_max);
    const std::string oid = blob_object(name);
    ByteString out(max);
    const int rc = rados_read(io_.get(), oid.c_str(), reinterpret_cast<char*>(out.data()), max, offset);
    if (rc == -ENOENT) return std::optional<ByteString>{};
    if (rc < 0) return fail(rados_error(rc));
    out.resize(static_cast<std::size_t>(rc));
    return std::optional<ByteString>(std::move(out));
}

Result<bool> RadosSpace::erase_blob(ByteView name) {
    if (name.empty() || name.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
    const std::string oid = blob_object(name);
    const int rc = rados_remove(io_.get(), oid.c_str());
    if (rc == -ENOENT) return false;
    if (rc < 0) return fail(rados_error(rc));
    return true;
}

Result<void> RadosSpace::acquire_lease(std::string_view name, std::string_view holder, std::uint32_t duration_ms) {
    if (!valid_lease_text(name) || !valid_lease_text(holder) || duration_ms == 0) return fail(StoreErrc::invalid_request);
    timeval duration{static_cast<time_t>(duration_ms / 1000), static_cast<suseconds_t>((duration_ms % 1000) * 1000)};
    const std::string n(name);
    const std::string h(holder);
    const int rc = rados_lock_exclusive(io_.get(), object_.c_str(), n.c_str(), h.c_str(), "vaultmx", &duration,
                                        LIBRADOS_LOCK_FLAG_MAY_RENEW);
    if (rc < 0) return fail(rados_error(rc));
    return {};
}

Result<void> RadosSpace::release_lease(std::string_view name, std::string_view holder) {
    if (!valid_lease_text(name) || !valid_lease_text(holder)) return fail(StoreErrc::invalid_request);
    const std::string n(name);
    const std::string h(holder);
    if (int rc = rados_unlock(io_.get(), object_.c_str(), n.c_str(), h.c_str()); rc < 0) return fail(rados_error(rc));
    return {};
}

}  // namespace vmx::store
