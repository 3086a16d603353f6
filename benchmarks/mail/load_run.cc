// A load run: session kinds per thread, the threads, the merge. See load_run.h.
#include "benchmarks/mail/load_run.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/assert.h"

namespace vmx::bench {
namespace {

std::atomic<bool> stop_requested{false};

class SmtpKind final : public SessionKind {
public:
    SmtpKind(const SmtpScenario& scenario, WorkBudget& budget, std::uint64_t seed, std::string id_suffix)
        : scenario_(scenario),
          budget_(budget),
          source_(scenario.sizes, seed, std::move(id_suffix)),
          context_{scenario.options, source_, budget, stats_, scenario.ack_log_path.empty() ? nullptr : &ack_log_} {
        context_.next_rcpt = static_cast<std::size_t>(seed % scenario.options.rcpts.size());
    }
    const LoadTarget& target() const override { return scenario_.target; }
    // Takes the session's first message, so a connection is never opened with nothing to send;
    // with paced transactions each one takes its own at its turn instead.
    bool want_session(std::int64_t now) override {
        return scenario_.options.transactions_paced ? budget_.open(now) : budget_.take(now);
    }
    bool work_left(std::int64_t now) const override { return budget_.open(now); }
    std::unique_ptr<LoadClient> make_client(std::uint32_t) override { return std::make_unique<SmtpClient>(context_); }
    LoadStats& stats() override { return stats_; }
    std::string& ack_log() { return ack_log_; }

private:
    const SmtpScenario& scenario_;
    WorkBudget& budget_;
    LoadStats stats_;
    std::string ack_log_;
    MessageSource source_;
    SmtpThreadContext context_;
};

class Pop3Kind final : public SessionKind {
public:
    Pop3Kind(const Pop3Scenario& scenario, WorkBudget& budget)
        : scenario_(scenario), budget_(budget), sessions_of_slot_(scenario.connections, 0) {}
    const LoadTarget& target() const override { return scenario_.target; }
    bool want_session(std::int64_t now) override { return budget_.take(now); }
    bool work_left(std::int64_t now) const override { return budget_.open(now); }
    // Slot c uses users c, c + C, c + 2C, ...: no two connections ever hold the same maildrop.
    std::unique_ptr<LoadClient> make_client(std::uint32_t slot) override {
        const std::size_t n = scenario_.users.size();
        const std::size_t index = (slot + static_cast<std::size_t>(scenario_.connections) * sessions_of_slot_[slot]++) % n;
        return std::make_unique<Pop3Client>(scenario_.options, scenario_.users[index], stats_);
    }
    LoadStats& stats() override { return stats_; }

private:
    const Pop3Scenario& scenario_;
    WorkBudget& budget_;
    LoadStats stats_;
    std::vector<std::uint64_t> sessions_of_slot_;
};

struct ThreadWork {
    std::unique_ptr<SmtpKind> smtp;
    std::unique_ptr<Pop3Kind> pop3;
    std::vector<SlotPlan> slots;
    PacePlan pace;
};

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    const auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return s(u.ru_utime) + s(u.ru_stime);
}

std::string describe(const LoadTarget& t) {
    return t.address.storage.ss_family == 0 ? std::string{} : t.address.to_string();
}

std::int64_t seconds_ns(double s) { return static_cast<std::int64_t>(s * 1e9); }

// Slots of each kind dealt round-robin over the threads, so every thread carries both kinds.
std::vector<ThreadWork> plan_threads(const RunLimits& limits, const SmtpScenario* smtp, const Pop3Scenario* pop3,
                                     WorkBudget& smtp_budget, WorkBudget& pop3_budget) {
    std::vector<ThreadWork> work(limits.threads);
    std::random_device entropy;
    const std::uint64_t run_id = (static_cast<std::uint64_t>(entropy()) << 32) | entropy();
    for (std::uint32_t t = 0; t < limits.threads; ++t) {
        if (smtp)
            work[t].smtp = std::make_unique<SmtpKind>(*smtp, smtp_budget, run_id + t * 0x9E3779B97F4A7C15ULL,
                                                      fmt::format("{}.{:016x}@vaultmx-bench.invalid", t, run_id));
        if (pop3) work[t].pop3 = std::make_unique<Pop3Kind>(*pop3, pop3_budget);
    }
    if (smtp)
        for (std::uint32_t c = 0; c < smtp->connections; ++c)
            work[c % limits.threads].slots.push_back({work[c % limits.threads].smtp.get(), c});
    if (pop3)
        for (std::uint32_t c = 0; c < pop3->connections; ++c)
            work[c % limits.threads].slots.push_back({work[c % limits.threads].pop3.get(), c});
    return work;
}

// --rate split evenly over the threads that have SMTP connections (the first min(threads,
// connections)), their schedules interleaved from the run's start.
void plan_pacing(std::vector<ThreadWork>& work, const SmtpScenario& smtp, std::int64_t start_ns) {
    VMX_ASSERT(smtp.rate_per_s > 0);
    const auto paced_threads = static_cast<std::uint32_t>(std::min<std::size_t>(work.size(), smtp.connections));
    const PaceUnit unit = smtp.options.transactions_paced ? PaceUnit::transaction : PaceUnit::session;
    for (std::uint32_t t = 0; t < paced_threads; ++t)
        work[t].pace = {unit, PaceSchedule::for_thread(start_ns, smtp.rate_per_s, paced_threads, t)};
}

bool write_ack_log(const std::string& path, std::vector<ThreadWork>& work, std::string& error) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (ThreadWork& w : work)
        if (w.smtp) out << w.smtp->ack_log();
    out.close();
    if (!out) error = fmt::format("cannot write the ack log {}", path);
    return static_cast<bool>(out);
}

}  // namespace

void request_load_stop() { stop_requested.store(true, std::memory_order_relaxed); }

std::optional<RunResult> run_load(const RunLimits& limits, const SmtpScenario* smtp, const Pop3Scenario* pop3,
                                  std::string& error) {
    std::shared_ptr<const net::TlsClientContext> tls;
    const bool wants_tls = (smtp && smtp->target.tls != TlsStart::none) || (pop3 && pop3->target.tls != TlsStart::none);
    if (wants_tls) {
        auto context = net::TlsClientContext::create(net::TlsClientOptions{}, error);
        if (!context) return std::nullopt;
        tls = *context;
    }
    const std::int64_t start = now_ns();
    const std::int64_t deadline = limits.duration_s > 0 ? start + seconds_ns(limits.duration_s) : 0;
    WorkBudget smtp_budget(smtp ? smtp->messages : 0, deadline);
    WorkBudget pop3_budget(pop3 ? pop3->sessions : 0, deadline);
    const std::vector<WorkBudget*> budgets{&smtp_budget, &pop3_budget};
    DriverLimits driver;
    driver.idle_timeout_ns = seconds_ns(limits.timeout_s);
    driver.hard_deadline_ns = start + seconds_ns(limits.time_limit_s);

    std::vector<ThreadWork> work = plan_threads(limits, smtp, pop3, smtp_budget, pop3_budget);
    if (smtp && smtp->rate_per_s > 0) {
        VMX_ASSERT(pop3 == nullptr);   // a paced thread paces every slot it holds
        plan_pacing(work, *smtp, start);
    }
    const double cpu0 = cpu_seconds();
    std::vector<std::thread> threads;
    threads.reserve(work.size());
    for (ThreadWork& w : work)
        threads.emplace_back([&w, &driver, &tls, &budgets] {
            run_load_thread(w.slots, driver, w.pace, tls, stop_requested, budgets);
        });
    for (std::thread& t : threads) t.join();

    RunResult result;
    result.threads = limits.threads;
    result.wall_s = static_cast<double>(now_ns() - start) / 1e9;
    result.client_cpu_s = cpu_seconds() - cpu0;
    if (smtp) {
        ScenarioResult r{"smtp", describe(smtp->target), smtp->target.tls, smtp->connections, smtp->rate_per_s, {}};
        for (ThreadWork& w : work) r.stats.merge(std::move(w.smtp->stats()));
        result.scenarios.push_back(std::move(r));
        if (!smtp->ack_log_path.empty() && !write_ack_log(smtp->ack_log_path, work, error)) return std::nullopt;
    }
    if (pop3) {
        ScenarioResult r{"pop3", describe(pop3->target), pop3->target.tls, pop3->connections, 0, {}};
        for (ThreadWork& w : work) r.stats.merge(std::move(w.pop3->stats()));
        result.scenarios.push_back(std::move(r));
    }
    return result;
}

}  // namespace vmx::bench
