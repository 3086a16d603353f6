// A mailbox as mboxrd, piece by piece (see mailbox_export.h).
#include "appliance/mailstore/mailbox_export.h"

#include <algorithm>
#include <string_view>

#include "store/errc.h"

namespace vmx {
namespace {

// The sender of the separator line: the store keeps no envelope sender with a message today, so
// every message gets MAILER-DAEMON (mbox_separator's word for "unknown").
constexpr std::string_view stored_sender{};

}  // namespace

Result<void> MailboxExport::list(const MailStoreView& view, const crypto::KeySet& keys) {
    const auto which = trash_ == ExportTrash::include ? store::ListTrash::include : store::ListTrash::exclude;
    auto messages = list_mailbox(view, keys, box_, which);
    if (!messages) return fail(messages.error());
    order_live_then_trash(*messages);
    listing_ = std::move(*messages);
    return {};
}

Result<bool> MailboxExport::open_next(const MailStoreView& view, const crypto::KeySet& keys, std::string& out) {
    while (next_ < listing_->size()) {
        const store::MessageInfo& m = (*listing_)[next_++];
        current_id_ = m.id;
        auto pump = BodyPump::open(view, keys, box_, m.id);
        if (!pump && pump.error() == store::StoreErrc::not_found) {
            ++skipped_;  // purged from the trash since the listing
            continue;
        }
        if (!pump) return fail(pump.error());
        pump_.emplace(std::move(*pump));
        writer_.begin(stored_sender, m.arrival_unix, out);
        return true;
    }
    return false;
}

Result<void> MailboxExport::fill(ShardStore& store, std::string& out, std::size_t bytes_min) {
    return fill(store_view(store), store.keys(), out, bytes_min);
}

Result<void> MailboxExport::fill(const MailStoreView& view, const crypto::KeySet& keys, std::string& out,
                                 std::size_t bytes_min) {
    if (done_) return {};
    if (!listing_) {
        if (auto listed = list(view, keys); !listed) return fail(listed.error());
    }
    while (out.size() < bytes_min) {
        if (!pump_) {
            auto opened = open_next(view, keys, out);
            if (!opened) return fail(opened.error());
            if (!*opened) {
                done_ = true;
                return {};
            }
        }
        auto chunk = pump_->next(keys);
        if (!chunk) return fail(chunk.error());
        if (!*chunk) {
            writer_.end(out);
            pump_.reset();
            ++messages_;
            continue;
        }
        const auto& bytes = **chunk;
        writer_.feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), out);
    }
    return {};
}

}  // namespace vmx
