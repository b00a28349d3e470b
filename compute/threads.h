// How many CPUs this process may really use, for sizing worker pools.
#pragma once

namespace salab {

// CPUs in this process's affinity mask, further limited by a cgroup CPU quota (containers
// often see every CPU of the host but may only use a few); at least 1. Computed once.
// std::thread::hardware_concurrency() counts the host's online CPUs and ignores both, so a
// pool sized by it can put hundreds of threads on a 16-CPU container.
// Less any CPUs reserve_cpus() keeps for an interactive thread.
int available_cpus();

// Keeps `count` CPUs out of available_cpus() (at least 1 is always left), so compute pools leave
// the GUI's frame loop a core. Call once at startup, before pools are sized.
void reserve_cpus(int count);

// Lowers the calling thread's priority (Linux nice +10) so that it yields to the frame loop; on a
// CPU device (lavapipe) compute and drawing share the cores. Nice values are per thread on Linux
// and inherited by threads created afterwards: call it first thing in a compute thread, before
// it creates a device or pools, and their threads inherit it. No-op where unsupported.
void lower_thread_priority();

}  // namespace salab
