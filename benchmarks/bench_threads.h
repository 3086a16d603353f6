// Thread helpers shared by the benchmark's servers and load: CPU time of a running thread, and
// pinning the calling thread to one CPU. Any thread.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <thread>

namespace vmx::bench {

// CPU time used so far by a running thread (pthread_getcpuclockid); 0 if it cannot be read.
inline std::uint64_t thread_cpu_ns(std::thread& thread) {
    clockid_t clock{};
    timespec ts{};
    if (pthread_getcpuclockid(thread.native_handle(), &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0;
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Pins the calling thread to CPU `cpu` modulo the online CPUs; best effort (a cpuset may forbid it).
inline void pin_current_thread(std::uint32_t cpu) {
    const long cpus = std::max(1L, sysconf(_SC_NPROCESSORS_ONLN));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<int>(cpu % static_cast<std::uint32_t>(cpus)), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace vmx::bench
