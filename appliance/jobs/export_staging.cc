// The portal's staged exports on one shard (see export_staging.h).
#include "appliance/jobs/export_staging.h"

#include <ctime>

#include "core/log.h"
#include "store/errc.h"

namespace vmx {
namespace {

// What the user reads when a preparation failed; the log has the detail.
std::string failure_text(std::error_code error) {
    if (error == store::StoreErrc::map_full || error == store::StoreErrc::disk_full)
        return "There is no room for the export now. Try again later, or ask your administrator.";
    return "The export could not be prepared. Try again later, or ask your administrator.";
}

}  // namespace

ExportStaging::ExportStaging(Shard& shard, ShardStore& store, ExportStagingOptions options)
    : shard_(shard), store_(store), options_(std::move(options)) {}

std::int64_t ExportStaging::now_unix() const {
    return options_.now_unix ? options_.now_unix() : static_cast<std::int64_t>(std::time(nullptr));
}

void ExportStaging::on_call(std::unique_ptr<StagedExportCall> call, Answer answer) {
    StagedExportCall& c = *call;
    switch (c.op) {
        case StagedExportOp::prepare:
            prepare(c.box, c.trash);
            c.status.state = StagedState::preparing;
            break;
        case StagedExportOp::status:
            if (auto s = status(c.box)) c.status = std::move(*s);
            else c.error = s.error();
            break;
        case StagedExportOp::read:
            if (auto b = read(c.box, c.export_id, c.part)) c.bytes = std::move(*b);
            else c.error = b.error();
            break;
        case StagedExportOp::discard: {
            const store::MailboxRef box = c.box;
            auto held = std::make_shared<std::unique_ptr<StagedExportCall>>(std::move(call));
            return discard(box, [held, answer = std::move(answer)](std::error_code error) {
                (*held)->error = error;
                answer(std::move(*held));
            });
        }
    }
    answer(std::move(call));
}

void ExportStaging::prepare(const store::MailboxRef& box, ExportTrash trash) {
    failures_.erase(box.user_id);
    std::erase_if(waiting_, [&box](const Preparation& p) { return p.box.user_id == box.user_id; });
    if (running_ && running_->box.user_id == box.user_id) running_->cancelled = true;
    Preparation p;
    p.box = box;
    p.trash = trash;
    waiting_.push_back(std::move(p));
    start_next();
}

Result<StagedStatus> ExportStaging::status(const store::MailboxRef& box) {
    StagedStatus out;
    if (running_ && !running_->cancelled && running_->box.user_id == box.user_id) {
        out.state = StagedState::preparing;
        out.bytes = running_->manifest.bytes;
        out.messages = running_->reader ? running_->reader->messages() : 0;
        return out;
    }
    for (const Preparation& p : waiting_) {
        if (p.box.user_id != box.user_id) continue;
        out.state = StagedState::preparing;
        return out;
    }
    const std::int64_t now = now_unix();
    std::erase_if(failures_, [now](const auto& f) { return f.second.forget_unix <= now; });
    if (auto f = failures_.find(box.user_id); f != failures_.end()) {
        out.state = StagedState::failed;
        out.error = f->second.error;
        return out;
    }
    auto found = find_staged_export(store_, box, now);
    if (!found) return fail(found.error());
    if (!*found) return out;
    const StagedExport& e = **found;
    out.state = StagedState::ready;
    out.export_id = e.id;
    out.bytes = e.manifest.bytes;
    out.messages = e.manifest.messages;
    out.parts = static_cast<std::uint32_t>(e.manifest.parts.size());
    out.expires_unix = e.expires_unix;
    out.trash = e.manifest.trash;
    return out;
}

Result<std::string> ExportStaging::read(const store::MailboxRef& box, std::uint64_t export_id, std::uint32_t part) {
    return read_staged_part(store_, box, export_id, part, now_unix());
}

void ExportStaging::discard(const store::MailboxRef& box, std::function<void(std::error_code)> done) {
    failures_.erase(box.user_id);
    std::erase_if(waiting_, [&box](const Preparation& p) { return p.box.user_id == box.user_id; });
    if (running_ && running_->box.user_id == box.user_id) running_->cancelled = true;
    // After a write the running preparation has in flight: the lane keeps their order.
    erase(box, [user = box.user_id, done = std::move(done)](std::error_code error, std::uint64_t records) {
        if (records > 0) log_event(LogLevel::info, "export.discarded", "user={} records={}", user, records);
        done(error);
    });
}

void ExportStaging::start_next() {
    if (running_ || waiting_.empty()) return;
    running_ = std::make_unique<Preparation>(std::move(waiting_.front()));
    waiting_.pop_front();
    Preparation& p = *running_;
    const std::int64_t now = now_unix();
    p.reader = std::make_unique<MailboxExport>(p.box, p.trash);
    p.manifest.trash = p.trash == ExportTrash::include;
    p.manifest.created_unix = now;
    p.expires_unix = now + store_.segment(p.box.segment).temp->ttl_s();
    log_event(LogLevel::info, "export.stage_started", "user={} trash={}", p.box.user_id, p.manifest.trash);
    erase(p.box, [this](std::error_code error, std::uint64_t) {
        if (stopped()) return;
        if (error) return failed("erasing the earlier export", error);
        shard_.schedule(0, [this](Shard&) { step(); });
    });
}

// Lane tasks of erase_records_max records until one erases fewer; `done` runs later, never in here,
// with how many records went.
void ExportStaging::erase(const store::MailboxRef& box, Erased done, std::uint64_t erased_before) {
    const std::size_t max = options_.erase_records_max;
    auto on_written = [this, box, max, done, erased_before](const store::WriteResult& r) {
        if (r.error) return done(r.error, erased_before);
        if (r.count >= max) return erase(box, done, erased_before + r.count);
        done({}, erased_before + r.count);
    };
    if (auto submitted = store_.submit(erase_staged_write(store_, box, max), on_written); !submitted) {
        const std::error_code error = submitted.error();
        shard_.schedule(0, [done = std::move(done), error, erased_before](Shard&) { done(error, erased_before); });
    }
}

// One piece: read, sealed and handed to the lane; or, once the mailbox is done, the manifest.
void ExportStaging::step() {
    if (stopped()) return;
    Preparation& p = *running_;
    if (p.reader->done()) return write_manifest();
    std::string piece;
    if (auto filled = p.reader->fill(store_, piece, export_piece_bytes); !filled)
        return failed("reading message " + std::to_string(p.reader->failed_message()), filled.error());
    if (piece.empty()) return write_manifest();
    write_part(piece);
}

void ExportStaging::write_part(std::string_view piece) {
    Preparation& p = *running_;
    store::TempRecordRef written;
    auto request = staged_part_write(store_, p.box, piece, now_unix(), p.expires_unix, written);
    if (!request) return failed("sealing a part", request.error());
    const auto bytes = static_cast<std::uint32_t>(piece.size());
    const std::uint64_t id = written.id;
    auto submitted = store_.submit(std::move(*request), [this, id, bytes](const store::WriteResult& r) {
        if (stopped()) return;
        if (r.error) return failed("writing a part", r.error);
        running_->manifest.parts.push_back(StagedPart{id, bytes});
        running_->manifest.bytes += bytes;
        shard_.schedule(0, [this](Shard&) { step(); });  // yield to the loop between pieces
    });
    if (!submitted) failed("writing a part", submitted.error());
}

void ExportStaging::write_manifest() {
    Preparation& p = *running_;
    const std::int64_t now = now_unix();
    if (now >= p.expires_unix) return failed("the manifest", std::make_error_code(std::errc::timed_out));
    p.manifest.messages = p.reader->messages();
    auto request = staged_manifest_write(store_, p.box, p.manifest, now, p.expires_unix);
    if (!request) return failed("sealing the manifest", request.error());
    auto submitted = store_.submit(std::move(*request), [this](const store::WriteResult& r) {
        if (stopped()) return;
        if (r.error) return failed("writing the manifest", r.error);
        const Preparation& done = *running_;
        log_event(LogLevel::info, "export.staged", "user={} messages={} skipped={} bytes={} parts={}", done.box.user_id,
                  done.manifest.messages, done.reader->skipped(), done.manifest.bytes, done.manifest.parts.size());
        finish();
    });
    if (!submitted) failed("writing the manifest", submitted.error());
}

// The running preparation ends: remembered as failed, its parts erased (or left to expire).
void ExportStaging::failed(std::string_view what, std::error_code error) {
    const store::MailboxRef box = running_->box;
    log_event(LogLevel::warn, "export.stage_failed", "user={} step=\"{}\" error=\"{}\"", box.user_id, what,
              error.message());
    failures_[box.user_id] = Failure{failure_text(error), now_unix() + store_.segment(box.segment).temp->ttl_s()};
    erase(box, [user = box.user_id](std::error_code e, std::uint64_t) {
        if (e) log_event(LogLevel::warn, "export.stage_erase_failed", "user={} error=\"{}\"", user, e.message());
    });
    finish();
}

void ExportStaging::finish() {
    running_.reset();
    start_next();
}

bool ExportStaging::stopped() {
    if (!running_) return true;
    if (!running_->cancelled) return false;
    log_event(LogLevel::info, "export.stage_stopped", "user={}", running_->box.user_id);
    finish();
    return true;
}

}  // namespace vmx
