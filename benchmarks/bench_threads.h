// Thread helpers shared by the benchmark's servers and load: CPU time of a running thread, and
// pinning the calling thread to one CPU. Any thread.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <time.h>

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

// Pins the calling thread to the cpu-th CPU it may use (mod their count), as the engine pins its
// shards: under a cpuset or taskset the allowed CPUs need not be 0..n-1. Best effort.
inline void pin_current_thread(std::uint32_t cpu) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) == 0) return;
    std::uint32_t wanted = cpu % static_cast<std::uint32_t>(CPU_COUNT(&allowed));
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &allowed) || wanted-- != 0) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
        return;
    }
}

}  // namespace vmx::bench
