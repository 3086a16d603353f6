// The backup schedule (see backup_schedule.h).
#include "appliance/lifecycle/backup_schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/log.h"

namespace vmx {
namespace {

constexpr std::string_view scheduled_prefix = "vaultmx-";  // backup_folder_name's

}  // namespace

BackupSchedule::BackupSchedule(const store::StoreLayout& layout, CopyEnvironment copy, crypto::MasterKey master,
                               BackupScheduleOptions options)
    : layout_(layout), copy_(std::move(copy)), master_(std::move(master)), options_(std::move(options)) {
    auto meta = read_store_meta(layout_);
    if (meta.index() == 0) meta_ = std::get<0>(std::move(meta));  // else each try fails and says so
    for (const BackupListing& b : list_backups(options_.dir))
        if (const auto* header = std::get_if<BackupHeader>(&b.header))
            newest_ = std::max(newest_.value_or(header->created_unix), header->created_unix);
}

BackupSchedule::~BackupSchedule() {
    if (thread_.joinable()) thread_.join();
}

void BackupSchedule::tick(std::int64_t now_unix) {
    if (options_.interval_h == 0) return;
    if (started_unix_ == 0) started_unix_ = now_unix;
    if (thread_.joinable()) {
        if (finished_.load(std::memory_order_acquire)) collect(now_unix);
        return;
    }
    const std::int64_t interval = std::int64_t{options_.interval_h} * 3600;
    if (now_unix < next_try_unix_ || (newest_ && now_unix < *newest_ + interval)) return;
    running_dir_ = options_.dir + "/" + backup_folder_name(now_unix);
    running_since_ = now_unix;
    finished_.store(false, std::memory_order_relaxed);
    log_event(LogLevel::info, "backup.started", "dir={}", running_dir_);
    thread_ = std::thread([this, now_unix, master = crypto::copy_of(master_)] {
        outcome_ = meta_.empty() ? std::variant<BackupCreated, std::string>(std::string("the store's meta could not be read at start"))
                                 : create_backup(layout_, copy_, meta_, master, running_dir_, now_unix, {});
        finished_.store(true, std::memory_order_release);
    });
}

void BackupSchedule::collect(std::int64_t now_unix) {
    thread_.join();
    const std::int64_t interval = std::int64_t{options_.interval_h} * 3600;
    if (const auto* done = std::get_if<BackupCreated>(&outcome_)) {
        newest_ = running_since_;
        log_event(LogLevel::info, "backup.created", "dir={} files={} bytes={} seconds={}", running_dir_, done->files,
                  done->bytes, now_unix - running_since_);
        prune();
        return;
    }
    next_try_unix_ = now_unix + std::max<std::int64_t>(interval / 10, 60);
    log_event(LogLevel::error, "backup.failed", "dir={} error=\"{}\"", running_dir_, std::get<std::string>(outcome_));
}

// The oldest scheduled, finished backups past `keep` go; an admin's own (--to) are never touched.
void BackupSchedule::prune() {
    std::vector<std::string> scheduled;
    for (const BackupListing& b : list_backups(options_.dir)) {
        const std::string name = std::filesystem::path(b.dir).filename().string();
        if (name.starts_with(scheduled_prefix) && std::holds_alternative<BackupHeader>(b.header)) scheduled.push_back(b.dir);
    }
    if (scheduled.size() <= options_.keep) return;
    std::sort(scheduled.begin(), scheduled.end());  // the names sort by time
    for (std::size_t i = 0; i + options_.keep < scheduled.size(); ++i) {
        std::error_code ec;
        std::filesystem::remove_all(scheduled[i], ec);
        if (ec) log_event(LogLevel::error, "backup.prune_failed", "dir={} error=\"{}\"", scheduled[i], ec.message());
        else log_event(LogLevel::info, "backup.removed", "dir={}", scheduled[i]);
    }
}

std::optional<double> BackupSchedule::age_hours(std::int64_t now_unix) const {
    if (options_.interval_h == 0) return std::nullopt;
    const std::int64_t since = newest_.value_or(started_unix_ == 0 ? now_unix : started_unix_);
    return static_cast<double>(now_unix - since) / 3600.0;
}

}  // namespace vmx
