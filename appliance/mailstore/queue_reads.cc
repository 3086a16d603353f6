// Queue reads for the admin's queue tools (see queue_reads.h).
#include "appliance/mailstore/queue_reads.h"

#include "appliance/mailstore/queue_entries.h"
#include "store/errc.h"
#include "store/layout.h"
#include "store/lmdb.h"
#include "store/segment_handles.h"

namespace vmx {
namespace {

constexpr std::size_t id_page = 1000;  // entry ids read per transaction

const store::Queue& queue_of(const MailStoreView& view, store::QueueKind kind, std::uint32_t segment) {
    const store::SegmentHandles& h = view.handles.segment(segment);
    return kind == store::QueueKind::smtp_in ? *h.smtp_in : *h.smtp_out;
}

store::Env& env_of(const MailStoreView& view, store::QueueKind kind, std::uint32_t segment) {
    return *view.envs.env(segment, kind == store::QueueKind::smtp_in ? store::SegmentKind::smtp_in
                                                                     : store::SegmentKind::smtp_out);
}

// One entry, opened in `txn`; an entry that does not open is returned with its error.
QueuedMessage load(const MailStoreView& view, store::ReadTxn& txn, const crypto::KeySet& keys, store::QueueKind kind,
                   std::uint32_t segment, std::uint64_t id) {
    QueuedMessage m;
    m.kind = kind;
    m.segment = segment;
    m.entry_id = id;
    m.queue_id = queue_id_of(kind, segment, id);
    const store::Queue& queue = queue_of(view, kind, segment);
    auto envelope = queue.load_envelope(txn, keys, id);
    if (!envelope) {
        m.error = envelope.error();
        return m;
    }
    m.envelope = std::move(*envelope);
    auto body = queue.load_body(txn, keys, id);
    if (!body) m.error = body.error();
    else m.body_bytes = body->size();
    return m;
}

// Calls fn(kind, segment, id, txn) for each entry id until it returns false; the ids are read a page
// per transaction.
template <class Fn>
Result<void> for_each_id(const MailStoreView& view, Fn fn) {
    for (store::QueueKind kind : {store::QueueKind::smtp_in, store::QueueKind::smtp_out}) {
        for (std::uint32_t segment = 0; segment < view.segments(); ++segment) {
            std::uint64_t after = 0;
            for (;;) {
                auto txn = store::ReadTxn::begin(env_of(view, kind, segment));
                if (!txn) return fail(txn.error());
                auto ids = queue_of(view, kind, segment).list(*txn, after, id_page);
                if (!ids) return fail(ids.error());
                for (std::uint64_t id : *ids)
                    if (!fn(kind, segment, id, *txn)) return {};
                if (ids->size() < id_page) break;
                after = ids->back();
            }
        }
    }
    return {};
}

}  // namespace

Result<std::vector<QueuedMessage>> list_queued(const MailStoreView& view, const crypto::KeySet& keys, std::size_t max) {
    std::vector<QueuedMessage> out;
    auto walked = for_each_id(view, [&](store::QueueKind kind, std::uint32_t segment, std::uint64_t id, store::ReadTxn& txn) {
        if (out.size() >= max) return false;
        out.push_back(load(view, txn, keys, kind, segment, id));
        return true;
    });
    if (!walked) return fail(walked.error());
    return out;
}

// By comparing each entry's queue id: ids are never reused, and the text form stays the one
// clients saw whatever the number of segments.
Result<QueuedMessage> find_queued(const MailStoreView& view, const crypto::KeySet& keys, std::string_view queue_id) {
    std::optional<QueuedMessage> found;
    auto walked = for_each_id(view, [&](store::QueueKind kind, std::uint32_t segment, std::uint64_t id, store::ReadTxn& txn) {
        if (queue_id_of(kind, segment, id) != queue_id) return true;
        found = load(view, txn, keys, kind, segment, id);
        return false;
    });
    if (!walked) return fail(walked.error());
    if (!found) return fail(store::StoreErrc::not_found);
    return std::move(*found);
}

}  // namespace vmx
