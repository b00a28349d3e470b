// libFuzzer: the .npy reader on arbitrary bytes (a header claiming any shape, any length).
// The bytes go to an in-memory file (memfd), read back by path as the CLI reads --q/--k/--v.
// Must never allocate more than the file holds, overflow a size product or crash.
#include "npy.h"
#include "pattern.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

namespace {
int memfd() {
    static const int fd = memfd_create("salab_fuzz_npy", 0);
    if (fd < 0) std::abort();
    return fd;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace salab;
    const int fd = memfd();
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != ssize_t(size)) std::abort();
    const std::string path = "/proc/self/fd/" + std::to_string(fd);
    try {
        const NpyArray a = read_npy(path);
        // What was allocated is what the file holds.
        if (a.f32.size() * 4 + a.u8.size() > size) std::abort();
    } catch (const InputError&) {
    }
    try {
        const std::vector<float> q = read_qkv(path, 2, 3, 4);
        if (q.size() != 24) std::abort();
    } catch (const InputError&) {
    }
    return 0;
}
