// MaildropLeases (see maildrop_leases.h): the keeper's answers, posted to the owner shards.
#include "appliance/pop3/maildrop_leases.h"

#include <charconv>
#include <random>

#include <fmt/format.h>

#include "store/layout.h"

namespace vmx {

Result<std::unique_ptr<MaildropLeases>> MaildropLeases::open(const store::StoreLayout& layout, std::uint32_t shards,
                                                             store::LeaseOptions options) {
    auto space = layout.open_leases();
    if (!space) return fail(space.error());
    if (!*space) return std::unique_ptr<MaildropLeases>{};
    std::random_device random;
    const std::uint64_t run = (std::uint64_t{random()} << 32) | random();
    std::string holder = fmt::format("node{}.{:016x}", layout.node(), run);
    return std::unique_ptr<MaildropLeases>(
        new MaildropLeases(std::move(*space), layout.segments(), shards, std::move(holder), options));
}

MaildropLeases::MaildropLeases(std::unique_ptr<store::Space> space, std::uint32_t segments, std::uint32_t shards,
                               std::string holder, store::LeaseOptions options)
    : space_(std::move(space)), segments_(segments) {
    outboxes_.reserve(shards);
    for (std::uint32_t s = 0; s < shards; ++s) outboxes_.push_back(std::make_unique<WorkerOutbox<LeaseNews>>());
    keeper_ = std::make_unique<store::LeaseKeeper>(*space_, std::move(holder), options,
                                                   [this](const std::string& name) { lost(name); });
}

MaildropLeases::~MaildropLeases() { keeper_->stop(); }

std::string MaildropLeases::lease_name(std::uint64_t user_id) { return fmt::format("pop3.{}", user_id); }

bool MaildropLeases::acquire(std::uint32_t shard, std::uint64_t user_id, std::function<void(store::LeaseOutcome)> done) {
    WorkerOutbox<LeaseNews>* outbox = outboxes_[shard].get();
    return keeper_->acquire(lease_name(user_id), [outbox, user_id, done = std::move(done)](store::LeaseOutcome o) mutable {
        outbox->post(LeaseNews{user_id, o, std::move(done)});
    });
}

void MaildropLeases::release(std::uint64_t user_id) { keeper_->release(lease_name(user_id)); }

// The keeper names the lease; the owner shard of its mailbox hears of the loss.
void MaildropLeases::lost(const std::string& name) {
    std::uint64_t user_id = 0;
    const std::string_view digits = std::string_view(name).substr(5);
    if (std::from_chars(digits.data(), digits.data() + digits.size(), user_id).ec != std::errc{}) return;
    const std::uint32_t owner =
        store::owner_shard(store::segment_of(user_id, segments_), static_cast<std::uint32_t>(outboxes_.size()));
    outboxes_[owner]->post(LeaseNews{user_id, store::LeaseOutcome::unavailable, nullptr});
}

}  // namespace vmx
