// SpoolLogWriter: the LogWriter the daemon's LogSink drains into once the spool is open. It numbers
// each record with the spool's next sequence, formats it as an RFC 5424 line and appends the batch
// of drained records in one commit, then wakes the shipper. The control loop drains on every wake-up,
// so commits (each an fsync) are spaced: at most one per commit_interval_ms unless batch_max records
// wait; commit() forces one (shut-down) and the destructor commits what is left. Control thread only.
// Failure policy: a batch the spool cannot take (full past its cap, disk full, I/O error) stays in
// memory, numbered as it was, and is committed again at the next interval, so a passing fault loses
// nothing. While it fails, at most held_max events wait; newer ones are dropped and counted
// (LogSpool::dropped()). The first failure after a success is reported as a `log.spool_failed`
// event at error level (an alarm), once, so a broken spool does not feed itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "appliance/ops/log_line.h"
#include "appliance/ops/log_spool.h"
#include "core/log_sink.h"

namespace vmx {

class LogShipper;

class SpoolLogWriter final : public LogWriter {
public:
    SpoolLogWriter(LogSpool& spool, LogOrigin origin) : spool_(spool), origin_(std::move(origin)) {}
    void set_shipper(LogShipper* shipper) noexcept { shipper_ = shipper; }

    ~SpoolLogWriter() override { commit(); }
    SpoolLogWriter(const SpoolLogWriter&) = delete;
    SpoolLogWriter& operator=(const SpoolLogWriter&) = delete;

    void write(const LogRecord& record) override;
    void flush() override;
    void commit();

    static constexpr std::uint64_t commit_interval_ms = 100;
    static constexpr std::size_t batch_max = 4096;
    static constexpr std::size_t held_max = 65536;  // ~20 MiB of lines at most while the spool fails

    std::size_t held() const noexcept { return pending_.size(); }
    bool failing() const noexcept { return failing_; }

private:
    LogSpool& spool_;
    LogOrigin origin_;
    LogShipper* shipper_ = nullptr;
    std::vector<std::string> pending_;
    std::uint64_t last_commit_ms_ = 0;
    bool failing_ = false;
};

}  // namespace vmx
