// RadosSpace's values kept outside the omap (store/omap_key.h): a value over omap_inline_max bytes
// (a body chunk) is an object of its own named by the SHA-256 of its table, key and bytes, written
// before the batch that refers to it and removed once no entry refers to it any more.
//
// Why this is safe: the name binds the object to one entry (table and key) and one value, so an
// object belongs to the one entry naming it.
// - Written with an exclusive create: an object that exists already (the same batch sent again after
//   a timeout whose commit did land) is not this attempt's, and is never removed by it.
// - After a commit that failed for certain (an expectation, a bad request) the objects this attempt
//   created are removed. After an outcome not known (timeout, cluster gone) nothing is removed: the
//   batch may have landed, and an orphan costs space, never mail.
// - After a commit that landed, the objects of the values it replaced or erased are removed (commit
//   waits for that; commit_async does not, so the same bytes put again under the same key at once
//   could meet the removal: the store never does that, each value being sealed afresh). Their
//   entries were read just before the commit; a value another node put between that read and the
//   commit stays as an orphan (space only). A reader that finds a referenced object gone met a
//   change after its snapshot: StoreErrc::conflict, and it reads again.
#include <sys/types.h>

#include <algorithm>
#include <cerrno>
#include <unordered_map>
#include <unordered_set>

#include "crypto/sha256.h"
#include "store/omap_key.h"
#include "store/rados_space.h"

namespace vmx::store {
namespace {

const char* chars(ByteView b) noexcept { return reinterpret_cast<const char*>(b.data()); }

// The first read of a value asks for this much: a whole body chunk and its seal in one round trip.
constexpr std::size_t value_first_read = (std::size_t{64} << 10) + 4096;

}  // namespace

Result<ValueDigest> value_digest(std::string_view table, ByteView key, ByteView value) {
    crypto::Sha256 sha;
    const auto length = [&sha](std::size_t n) {
        const std::uint32_t v = static_cast<std::uint32_t>(n);
        const std::uint8_t le[4] = {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8),
                                    static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)};
        sha.update(le);
    };
    length(table.size());
    sha.update(ByteView(reinterpret_cast<const std::uint8_t*>(table.data()), table.size()));
    length(key.size());
    sha.update(key);
    sha.update(value);
    auto digest = sha.finish();
    if (!digest) return fail(digest.error());
    return *digest;
}

Result<RadosSpace::ValueWork> RadosSpace::write_values(const Batch& batch, const std::vector<std::string>& names,
                                                       const Digests& digests) {
    ValueWork work;
    struct Pending {
        std::string oid;
        RadosWriteOp op;
        RadosCompletion completion;
    };
    std::vector<Pending> pending;
    std::unordered_map<std::string, std::string> final_object;  // by omap key: what it names after the batch
    std::error_code failed;
    bool outside = false;
    for (std::size_t i = 0; i < batch.changes.size(); ++i) {
        const Change& c = batch.changes[i];
        std::string& named = final_object[omap_key(names[c.table.id], c.key)];
        named.clear();
        if (c.kind == ChangeKind::erase) outside = true;  // it may erase a value kept outside
        if (!digests[i]) continue;
        outside = true;
        rados_completion_t raw = nullptr;
        int rc = rados_aio_create_completion2(nullptr, nullptr, &raw);
        if (rc < 0) {
            failed = rados_error(rc);
            break;
        }
        Pending p{value_object_name(object_, *digests[i]), RadosWriteOp(rados_create_write_op()), RadosCompletion(raw)};
        rados_write_op_create(p.op.get(), LIBRADOS_CREATE_EXCLUSIVE, nullptr);
        rados_write_op_write_full(p.op.get(), chars(c.value), c.value.size());
        if (rc = rados_aio_write_op_operate(p.op.get(), io_.get(), raw, p.oid.c_str(), nullptr, 0); rc < 0) {
            failed = rados_error(rc);
            break;
        }
        named = p.oid;
        pending.push_back(std::move(p));
    }
    std::unordered_set<std::string> put_objects;
    for (const auto& [key, oid] : final_object)
        if (!oid.empty()) put_objects.insert(oid);
    // Every write sent is waited for, whatever happens next: its operation must outlive it.
    const auto wait_all = [&] {
        for (Pending& p : pending) {
            rados_aio_wait_for_complete(p.completion.get());
            const int rc = rados_aio_get_return_value(p.completion.get());
            if (rc == 0) {
                work.written.push_back(p.oid);
            } else if (rc != -EEXIST && !failed) {
                failed = rados_error(rc);
            }
        }
        pending.clear();
    };
    if (failed || !outside) {
        wait_all();
        if (failed) {
            remove_values(work.written);  // nothing refers to them: the batch was never sent
            return fail(failed);
        }
        return work;
    }
    // What the changed keys hold now, read while the values are written.
    std::vector<const char*> key_ptrs;
    std::vector<std::size_t> key_lens;
    key_ptrs.reserve(final_object.size());
    key_lens.reserve(final_object.size());
    for (const auto& [key, oid] : final_object) {
        key_ptrs.push_back(key.data());
        key_lens.push_back(key.size());
    }
    RadosReadOp read(rados_create_read_op());
    rados_omap_iter_t raw_iter = nullptr;
    int prval = 0;
    rados_read_op_omap_get_vals_by_keys2(read.get(), key_ptrs.data(), key_ptrs.size(), key_lens.data(), &raw_iter, &prval);
    const int read_rc = rados_read_op_operate(read.get(), io_.get(), object_.c_str(), 0);
    RadosOmapIter iter(raw_iter);

    wait_all();
    if (!failed && read_rc < 0) failed = rados_error(read_rc);
    if (!failed && prval < 0) failed = rados_error(prval);
    if (failed) {
        remove_values(work.written);  // nothing refers to them: the batch was never sent
        return fail(failed);
    }
    for (;;) {
        char* key = nullptr;
        char* val = nullptr;
        std::size_t key_len = 0;
        std::size_t val_len = 0;
        if (rados_omap_get_next2(iter.get(), &key, &val, &key_len, &val_len) != 0 || key == nullptr) break;
        const auto stored = ByteView(reinterpret_cast<const std::uint8_t*>(val), val_len);
        if (auto digest = omap_reference_decode(stored)) {
            std::string oid = value_object_name(object_, *digest);
            if (put_objects.count(oid) == 0) work.replaced.push_back(std::move(oid));
        }
    }
    // A key put twice in one batch keeps the last value: the earlier one's object goes with the rest.
    for (const auto& oid : work.written)
        if (put_objects.count(oid) == 0) work.replaced.push_back(oid);
    return work;
}

// All at once; waited for unless `wait` is false (a librados callback must not wait on librados):
// then each completion is released at once, and librados keeps it until its removal ends.
void RadosSpace::remove_values(const std::vector<std::string>& oids, bool wait) {
    std::vector<RadosCompletion> sent;
    sent.reserve(oids.size());
    for (const auto& oid : oids) {
        rados_completion_t raw = nullptr;
        if (rados_aio_create_completion2(nullptr, nullptr, &raw) < 0) continue;
        RadosCompletion completion(raw);
        if (rados_aio_remove(io_.get(), oid.c_str(), raw) < 0) continue;
        if (wait) sent.push_back(std::move(completion));
    }
    for (auto& c : sent) rados_aio_wait_for_complete(c.get());
}

void RadosSpace::settle_values(const ValueWork& work, int rc, bool wait) {
    if (rc == 0) return remove_values(work.replaced, wait);
    // Refused for certain (an expectation, a lease, a bad request): nothing of the batch landed.
    if (rc == -ECANCELED || rc == -EBUSY || rc == -ENOENT || rc == -EINVAL || rc == -ERANGE)
        remove_values(work.written, wait);
}

Result<ByteString> RadosSpace::read_value(const ValueDigest& digest) {
    const std::string oid = value_object_name(object_, digest);
    ByteString out(value_first_read);
    RadosReadOp op(rados_create_read_op());
    std::uint64_t size = 0;
    time_t mtime = 0;
    int stat_rc = 0;
    std::size_t got = 0;
    int read_rc = 0;
    rados_read_op_stat(op.get(), &size, &mtime, &stat_rc);
    rados_read_op_read(op.get(), 0, out.size(), reinterpret_cast<char*>(out.data()), &got, &read_rc);
    const int rc = rados_read_op_operate(op.get(), io_.get(), oid.c_str(), 0);
    // Gone: the entry naming it was changed after this reader's view of the omap.
    if (rc == -ENOENT || stat_rc == -ENOENT) return fail(StoreErrc::conflict);
    if (rc < 0) return fail(rados_error(rc));
    if (stat_rc < 0) return fail(rados_error(stat_rc));
    if (read_rc < 0) return fail(rados_error(read_rc));
    if (size > backend_value_bytes_max) return fail(StoreErrc::corrupt);
    out.resize(got);
    if (size > got) {
        out.resize(size);
        const int more = rados_read(io_.get(), oid.c_str(), reinterpret_cast<char*>(out.data() + got), size - got, got);
        if (more == -ENOENT) return fail(StoreErrc::conflict);
        if (more < 0) return fail(rados_error(more));
        out.resize(got + static_cast<std::size_t>(more));
    }
    if (out.size() != size) return fail(StoreErrc::corrupt);
    return out;
}

Result<ByteString> RadosSpace::stored_value(ByteView stored) {
    if (auto digest = omap_reference_decode(stored)) return read_value(*digest);
    auto value = omap_value_decode(stored);
    if (!value) return fail(StoreErrc::corrupt);
    return std::move(*value);
}

}  // namespace vmx::store
