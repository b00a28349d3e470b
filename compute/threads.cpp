#include "threads.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace salab {

namespace {

// CPU quota of the cgroup (v2 cpu.max "QUOTA PERIOD", or v1 cfs files) in CPUs; 0 if none.
int cgroup_cpus() {
    std::ifstream v2("/sys/fs/cgroup/cpu.max");
    std::string quota;
    long long period = 0;
    if (v2 >> quota >> period) {
        if (quota != "max" && period > 0) return int(std::ceil(std::stod(quota) / double(period)));
        return 0;
    }
    std::ifstream q1("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p1("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
    long long q = 0, p = 0;
    if (q1 >> q && p1 >> p && q > 0 && p > 0) return int((q + p - 1) / p);
    return 0;
}

int detect() {
    int n = int(std::thread::hardware_concurrency());
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
    try {
        if (const int quota = cgroup_cpus(); quota > 0) n = std::min(n, quota);
    } catch (...) {  // unreadable quota: keep the affinity count
    }
    return std::max(1, n);
}

}  // namespace

std::atomic<int> g_reserved{0};

int available_cpus() {
    static const int cpus = detect();
    return std::max(1, cpus - g_reserved.load(std::memory_order_relaxed));
}

void reserve_cpus(int count) { g_reserved.store(std::max(0, count), std::memory_order_relaxed); }

void lower_thread_priority() {
#ifdef __linux__
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
#endif
}

}  // namespace salab
