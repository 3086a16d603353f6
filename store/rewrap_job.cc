#include "store/rewrap_job.h"

#include <algorithm>
#include <vector>

#include "store/errc.h"
#include "store/record_key.h"

namespace vmx::store {
namespace {

Bytes as_bytes(const std::string& s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

struct Pending {
    std::vector<std::uint8_t> key;
    std::vector<std::uint8_t> value;
};

}  // namespace

RewrapJob::RewrapJob(Env& env, Dbi data, Dbi state, crypto::StoreKind kind, std::uint32_t segment, std::string name,
                     ScopeOf scope_of)
    : RewrapJob(env, data, state, std::move(name),
                [kind, segment, scope_of = std::move(scope_of)](Bytes bytes) -> std::optional<RewrapTarget> {
                    const auto key = decode_record_key(bytes);
                    if (!key) return std::nullopt;
                    const auto scope = scope_of(key->owner);
                    if (!scope) return std::nullopt;
                    return RewrapTarget{*scope, identity_of(kind, segment, *key)};
                }) {}

RewrapJob::RewrapJob(Env& env, Dbi data, Dbi state, std::string name, TargetOf target_of)
    : env_(env), data_(data), state_(state), name_(std::move(name)), target_of_(std::move(target_of)) {}

Result<RewrapProgress> RewrapJob::step(const crypto::KeySet& keys, std::size_t batch) {
    VMX_ASSERT(batch > 0);
    auto txn = WriteTxn::begin(env_);
    if (!txn) return fail(txn.error());

    // Where the last committed step stopped (absent: from the start).
    std::vector<std::uint8_t> resume_after;
    if (auto saved = txn->get(state_, as_bytes(name_)); saved) {
        resume_after.assign(saved->begin(), saved->end());
    } else if (saved.error() != StoreErrc::not_found) {
        return fail(saved.error());
    }

    // Collect first, write after: puts must not move the cursor under us.
    std::vector<Pending> pending;
    {
        auto cursor = Cursor::open(*txn, data_);
        if (!cursor) return fail(cursor.error());
        auto entry = resume_after.empty() ? cursor->first() : cursor->seek(resume_after);
        if (entry && *entry && !resume_after.empty() && std::equal((*entry)->key.begin(), (*entry)->key.end(),
                                                                   resume_after.begin(), resume_after.end()))
            entry = cursor->next();
        while (entry && *entry && pending.size() < batch) {
            pending.push_back({{(*entry)->key.begin(), (*entry)->key.end()}, {(*entry)->value.begin(), (*entry)->value.end()}});
            entry = cursor->next();
        }
        if (!entry) return fail(entry.error());
    }

    RewrapProgress step_progress;
    for (const Pending& p : pending) {
        ++step_progress.scanned;
        const auto target = target_of_(p.key);
        if (!target || !crypto::peek_key(p.value)) {
            ++step_progress.skipped;
            continue;
        }
        if (!keys.needs_rewrap(target->scope, p.value)) continue;
        auto moved = keys.rewrap_to_active(target->scope, target->identity, p.value);
        if (!moved) {
            ++step_progress.failed;
            continue;
        }
        if (auto r = txn->put(data_, p.key, *moved); !r) return fail(r.error());
        ++step_progress.rewrapped;
    }

    step_progress.done = pending.size() < batch;
    if (step_progress.done) {
        if (auto r = txn->erase(state_, as_bytes(name_)); !r) return fail(r.error());
    } else if (auto r = txn->put(state_, as_bytes(name_), pending.back().key); !r) {
        return fail(r.error());
    }
    if (auto r = txn->commit(); !r) return fail(r.error());

    total_.scanned += step_progress.scanned;
    total_.rewrapped += step_progress.rewrapped;
    total_.skipped += step_progress.skipped;
    total_.failed += step_progress.failed;
    total_.done = step_progress.done;
    return step_progress;
}

}  // namespace vmx::store
