// MaildropLeases (see maildrop_leases.h): the keeper's answers, posted to the owner shards.
#include "appliance/pop3/maildrop_leases.h"

#include <array>
#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "crypto/random.h"
#include "store/layout.h"

namespace vmx {

Result<std::unique_ptr<MaildropLeases>> MaildropLeases::open(const store::StoreLayout& layout, std::uint32_t shards,
                                                             store::LeaseOptions options) {
    if (!layout.shared(store::GlobalKind::keys)) return std::unique_ptr<MaildropLeases>{};
    std::vector<std::unique_ptr<store::Space>> spaces;
    spaces.reserve(layout.segments());
    for (std::uint32_t segment = 0; segment < layout.segments(); ++segment) {
        auto space = layout.open_leases(segment);
        if (!space) return fail(space.error());
        spaces.push_back(std::move(*space));
    }
    std::array<std::uint8_t, 8> run{};
    if (auto r = crypto::random_bytes(run); !r) return fail(r.error());
    std::string holder = fmt::format("node{}.{:02x}", layout.node(), fmt::join(run, ""));
    return std::unique_ptr<MaildropLeases>(new MaildropLeases(std::move(spaces), shards, std::move(holder), options));
}

MaildropLeases::MaildropLeases(std::vector<std::unique_ptr<store::Space>> spaces, std::uint32_t shards,
                               std::string holder, store::LeaseOptions options)
    : spaces_(std::move(spaces)) {
    outboxes_.reserve(shards);
    for (std::uint32_t s = 0; s < shards; ++s) outboxes_.push_back(std::make_unique<WorkerOutbox<LeaseNews>>());
    std::vector<store::Space*> by_segment;
    by_segment.reserve(spaces_.size());
    for (auto& space : spaces_) by_segment.push_back(space.get());
    keeper_ = std::make_unique<store::LeaseKeeper>(std::move(by_segment), std::move(holder), options,
                                                   [this](const std::string& name) { lost(name); });
}

std::uint32_t MaildropLeases::segment_of(std::uint64_t user_id) const {
    return store::segment_of(user_id, static_cast<std::uint32_t>(spaces_.size()));
}

MaildropLeases::~MaildropLeases() { keeper_->stop(); }

std::string MaildropLeases::lease_name(std::uint64_t user_id) { return fmt::format("pop3.{}", user_id); }

bool MaildropLeases::acquire(std::uint32_t shard, std::uint64_t user_id, std::function<void(store::LeaseOutcome)> done) {
    WorkerOutbox<LeaseNews>* outbox = outboxes_[shard].get();
    return keeper_->acquire(segment_of(user_id), lease_name(user_id),
                            [outbox, user_id, done = std::move(done)](store::LeaseOutcome o) mutable {
        outbox->post(LeaseNews{user_id, o, std::move(done)});
    });
}

void MaildropLeases::release(std::uint64_t user_id) { keeper_->release(segment_of(user_id), lease_name(user_id)); }

// The keeper names the lease; the owner shard of its mailbox hears of the loss.
void MaildropLeases::lost(const std::string& name) {
    std::uint64_t user_id = 0;
    const std::string_view digits = std::string_view(name).substr(5);
    if (std::from_chars(digits.data(), digits.data() + digits.size(), user_id).ec != std::errc{}) return;
    const std::uint32_t owner = store::owner_shard(segment_of(user_id), static_cast<std::uint32_t>(outboxes_.size()));
    outboxes_[owner]->post(LeaseNews{user_id, store::LeaseOutcome::unavailable, nullptr});
}

}  // namespace vmx
