// log_bench: what one event costs the control thread: formatting it as an RFC 5424 line, sealing it
// and committing it to the spool, in the batch sizes one drain produces (1, 64, 1024 events per
// durable commit). CPU per event (getrusage of this process) and events per second. Runs in a folder
// on a real disk (default /var/tmp): fsync on tmpfs costs nothing.
//   log_bench [FOLDER] [EVENTS]
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "appliance/ops/log_line.h"
#include "appliance/ops/log_spool.h"

namespace {

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

vmx::LogRecord typical_record() {
    vmx::LogRecord r;
    r.time_us = 1796551418000000;
    r.shard = 1;
    const std::string text = "event=smtp.session client=192.0.2.77 messages=1 rcpt_rejected=0 refused=0";
    r.length = static_cast<std::uint16_t>(text.size());
    std::memcpy(r.text, text.data(), text.size());
    return r;
}

}  // namespace

int main(int argc, char** argv) try {
    const std::string base = argc > 1 ? argv[1] : "/var/tmp";
    const std::size_t events = argc > 2 ? std::stoul(argv[2]) : 200000;
    const std::string folder = base + "/vmx-log-bench-" + std::to_string(getpid());
    const vmx::LogOrigin origin{"mx1.example.net", "vaultmxd", 4242};
    const vmx::LogRecord record = typical_record();
    std::printf("%-10s %14s %14s %12s\n", "batch", "CPU per event", "wall/event", "events/s");
    for (const std::size_t batch : {std::size_t{1}, std::size_t{64}, std::size_t{1024}}) {
        std::filesystem::remove_all(folder);
        auto key = vmx::crypto::SecretBytes::zeroed(vmx::log_key_bytes);
        auto spool = vmx::LogSpool::open(folder, std::move(key), {});
        if (!spool) throw std::runtime_error("spool: " + spool.error().message());
        const std::size_t count = batch == 1 ? std::min<std::size_t>(events, 5000) : events;  // each commit fsyncs
        const double cpu0 = cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::string> lines;
        for (std::size_t done = 0; done < count; done += batch) {
            lines.clear();
            for (std::size_t i = 0; i < batch; ++i)
                lines.push_back(vmx::format_log_line(record, (*spool)->next_sequence() + i, origin));
            if (!(*spool)->append(lines)) throw std::runtime_error("append failed");
        }
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double cpu = cpu_seconds() - cpu0;
        const auto n = static_cast<double>(count);
        std::printf("%-10zu %11.2f us %11.2f us %12.0f\n", batch, cpu / n * 1e6, wall / n * 1e6, n / wall);
    }
    std::filesystem::remove_all(folder);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "log_bench: %s\n", e.what());
    return 1;
}
