// How many CPUs this process may really use, for sizing worker pools.
#pragma once

namespace salab {

// CPUs in this process's affinity mask, further limited by a cgroup CPU quota (containers
// often see every CPU of the host but may only use a few); at least 1. Computed once.
// std::thread::hardware_concurrency() counts the host's online CPUs and ignores both, so a
// pool sized by it can put hundreds of threads on a 16-CPU container.
int available_cpus();

}  // namespace salab
