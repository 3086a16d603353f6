// A mailbox's header fields for the support view (see mailbox_headers.h).
#include "appliance/mailstore/mailbox_headers.h"

#include <string.h>

#include <algorithm>
#include <string_view>

#include "store/errc.h"

namespace vmx {
namespace {

// Plaintext of a message: wiped before its memory goes back (it is customer data).
class WipedText {
public:
    WipedText() = default;
    WipedText(const WipedText&) = delete;
    WipedText& operator=(const WipedText&) = delete;
    ~WipedText() { explicit_bzero(text_.data(), text_.size()); }
    std::string& text() noexcept { return text_; }

private:
    std::string text_;
};

}  // namespace

Result<SupportHeaders> read_message_headers(const MailStoreView& view, const crypto::KeySet& keys,
                                            const store::MailboxRef& box, std::uint64_t message_id) {
    auto pump = BodyPump::open(view, keys, box, message_id);
    if (!pump) return fail(pump.error());
    WipedText head;
    head.text().reserve(support_head_bytes_max);
    while (head.text().size() < support_head_bytes_max && !header_section_end(head.text())) {
        auto chunk = pump->next(keys);
        if (!chunk) return fail(chunk.error());
        if (!*chunk) break;
        std::vector<std::uint8_t>& bytes = **chunk;
        const std::size_t take = std::min(bytes.size(), support_head_bytes_max - head.text().size());
        head.text().append(reinterpret_cast<const char*>(bytes.data()), take);
        explicit_bzero(bytes.data(), bytes.size());
    }
    return read_support_headers(head.text(), SupportHeaderLimits{support_head_bytes_max, SupportHeaderLimits{}.value_bytes_max});
}

MailboxHeaders::~MailboxHeaders() {
    for (SupportRow& row : rows_) {
        if (row.headers.from) explicit_bzero(row.headers.from->data(), row.headers.from->size());
        if (row.headers.subject) explicit_bzero(row.headers.subject->data(), row.headers.subject->size());
    }
}

Result<void> MailboxHeaders::list(const MailStoreView& view, const crypto::KeySet& keys) {
    auto messages = list_mailbox(view, keys, box_, trash_);
    if (!messages) return fail(messages.error());
    order_live_then_trash(*messages);
    listing_ = std::move(*messages);
    rows_.reserve(listing_->size());
    return {};
}

Result<void> MailboxHeaders::fill(const MailStoreView& view, const crypto::KeySet& keys, std::size_t messages_max) {
    if (!listing_) {
        if (auto listed = list(view, keys); !listed) return fail(listed.error());
    }
    for (std::size_t opened = 0; opened < messages_max && next_ < listing_->size(); ++opened) {
        const store::MessageInfo& m = (*listing_)[next_++];
        auto headers = read_message_headers(view, keys, box_, m.id);
        if (!headers && headers.error() == store::StoreErrc::not_found) continue;  // purged since the listing
        SupportRow row{m, {}, {}};
        if (headers) row.headers = std::move(*headers);
        else row.read_error = headers.error();
        rows_.push_back(std::move(row));
    }
    return {};
}

}  // namespace vmx
