#include "file_io.h"

#include "pattern.h"  // InputError

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace salab {

namespace {

std::string prefix(std::string_view what, const std::string& path) {
    return std::string(what) + (what.empty() ? "" : " ") + path + ": ";
}

std::string errno_text(int e) { return std::strerror(e); }

// ---- interrupt cleanup: fixed slots a signal handler can read -----------------------------

constexpr int kSlots = 16;
// state: 0 free, 1 being filled, 2 holds a temporary file's path (the handler reads only 2).
struct Slot {
    std::atomic<int> state{0};
    char path[PATH_MAX + 1] = {};
};
std::array<Slot, kSlots> g_slots;

int claim_slot(const std::string& path) {
    if (path.size() > PATH_MAX) return -1;
    for (int s = 0; s < kSlots; ++s) {
        int expected = 0;
        if (!g_slots[size_t(s)].state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) continue;
        std::memcpy(g_slots[size_t(s)].path, path.c_str(), path.size() + 1);
        g_slots[size_t(s)].state.store(2, std::memory_order_release);
        return s;
    }
    return -1;  // no slot: the file is still removed on exceptions, only not on a signal
}

void release_slot(int s) {
    if (s >= 0) g_slots[size_t(s)].state.store(0, std::memory_order_release);
}

extern "C" void salab_on_interrupt(int sig) {
    for (auto& s : g_slots)
        if (s.state.load(std::memory_order_acquire) == 2) ::unlink(s.path);
    _exit(128 + sig);
}

mode_t process_umask() {
    static const mode_t m = [] {
        const mode_t u = ::umask(0);
        ::umask(u);
        return u;
    }();
    return m;
}

std::string parent_dir(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
    const auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// ---- reading -----------------------------------------------------------------------------

uint64_t regular_file_size(const std::string& path, std::string_view what) {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) throw InputError(prefix(what, path) + "cannot open: " + errno_text(errno));
    if (S_ISDIR(st.st_mode)) throw InputError(prefix(what, path) + "is a directory, not a file");
    if (!S_ISREG(st.st_mode))
        throw InputError(prefix(what, path) + "is not a regular file (a device, FIFO or socket)");
    if (::access(path.c_str(), R_OK) != 0) throw InputError(prefix(what, path) + "cannot open: " + errno_text(errno));
    return uint64_t(st.st_size);
}

std::string read_file_limited(const std::string& path, size_t max_bytes, std::string_view what) {
    // O_NONBLOCK: a FIFO without a writer must not block the open (it reads as empty).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw InputError(prefix(what, path) + "cannot open: " + errno_text(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0) throw InputError(prefix(what, path) + "cannot read: " + errno_text(errno));
    if (S_ISDIR(st.st_mode)) throw InputError(prefix(what, path) + "is a directory, not a file");
    const std::string limit_text = format_bytes(double(max_bytes));
    if (S_ISREG(st.st_mode) && uint64_t(st.st_size) > max_bytes)
        throw InputError(prefix(what, path) + "is " + format_bytes(double(st.st_size)) + ", more than the " +
                         limit_text + " limit for this kind of file");
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    std::string out;
    out.reserve(S_ISREG(st.st_mode) ? size_t(st.st_size) : 4096);
    char buf[65536];
    for (;;) {
        const ssize_t k = ::read(fd, buf, sizeof buf);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;  // an empty FIFO
            throw InputError(prefix(what, path) + "cannot read: " + errno_text(errno));
        }
        if (k == 0) break;
        if (out.size() + size_t(k) > max_bytes)
            throw InputError(prefix(what, path) + "holds more than the " + limit_text + " limit for this kind of file" +
                             (S_ISREG(st.st_mode) ? "" : " (it is not a regular file)"));
        out.append(buf, size_t(k));
    }
    return out;
}

// ---- writing -----------------------------------------------------------------------------

AtomicWriter::AtomicWriter(const std::string& path, std::string_view what) : path_(path), what_(what) {
    if (path.empty()) throw InputError(std::string(what) + ": empty output path");
    struct stat st{};
    const bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) fail("it is a directory; give a file name");
    if (exists && !S_ISREG(st.st_mode)) {
        // /dev/null, /dev/full, /dev/stdout, a FIFO: no rename possible, write in place.
        fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd_ < 0) fail(errno_text(errno));
        return;
    }
    const std::string dir = parent_dir(path);
    std::string tmpl = dir + "/." + base_name(path) + ".salab-tmp-XXXXXX";
    fd_ = ::mkstemp(tmpl.data());
    if (fd_ < 0) {
        const int e = errno;
        struct stat ds{};
        if (::stat(dir.c_str(), &ds) != 0) fail("directory " + dir + " does not exist");
        if (!S_ISDIR(ds.st_mode)) fail(dir + " is not a directory");
        fail("cannot create a file in " + dir + ": " + errno_text(e));
    }
    temp_ = tmpl;
    slot_ = claim_slot(temp_);
    ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
    const mode_t mode = exists ? (st.st_mode & 07777) : (0666 & ~process_umask());
    ::fchmod(fd_, mode);
}

AtomicWriter::~AtomicWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
    release_slot(slot_);
}

void AtomicWriter::fail(const std::string& reason) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!temp_.empty()) ::unlink(temp_.c_str());
    temp_.clear();
    release_slot(slot_);
    slot_ = -1;
    throw InputError(what_ + (what_.empty() ? "" : ": ") + "cannot write " + path_ + ": " + reason);
}

void AtomicWriter::write(const void* data, size_t bytes) {
    if (fd_ < 0) fail("write after close");
    const char* p = static_cast<const char*>(data);
    while (bytes > 0) {
        const ssize_t k = ::write(fd_, p, std::min<size_t>(bytes, size_t(1) << 30));
        if (k < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            fail(errno_text(e) + " (after " + format_bytes(double(written_)) + ")");
        }
        if (k == 0) fail("no progress (after " + format_bytes(double(written_)) + ")");
        p += k;
        bytes -= size_t(k);
        written_ += uint64_t(k);
    }
}

void AtomicWriter::commit() {
    if (fd_ < 0) fail("commit after close");
    if (!temp_.empty() && ::fsync(fd_) != 0) fail("flushing to disk failed: " + errno_text(errno));
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        const int e = errno;
        fd_ = -1;
        fail("closing failed: " + errno_text(e));
    }
    if (!temp_.empty()) {
        if (::rename(temp_.c_str(), path_.c_str()) != 0) fail("cannot replace the file: " + errno_text(errno));
        temp_.clear();
    }
    committed_ = true;
    release_slot(slot_);
    slot_ = -1;
}

void write_file_atomic(const std::string& path, std::string_view data, std::string_view what) {
    AtomicWriter w(path, what);
    w.write(data);
    w.commit();
}

uint64_t writable_bytes_at(const std::string& path) {
    uint64_t free_bytes = std::numeric_limits<uint64_t>::max();
    struct statvfs vs{};
    if (::statvfs(parent_dir(path).c_str(), &vs) == 0)
        free_bytes = uint64_t(vs.f_bavail) * uint64_t(vs.f_frsize);
    struct rlimit rl{};
    if (::getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        free_bytes = std::min<uint64_t>(free_bytes, uint64_t(rl.rlim_cur));
    return free_bytes;
}

void check_output_space(const std::string& path, uint64_t bytes, std::string_view what,
                        std::string_view what_to_change) {
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) return;  // a device or FIFO
    // (The old file is replaced only once the new one is complete, so its space is not counted.)
    const uint64_t have = writable_bytes_at(path);
    if (bytes > have)
        throw InputError(prefix(what, path) + "would be " + format_bytes(double(bytes)) + " but only " +
                         format_bytes(double(have)) + " can be written there (free space or file-size limit); " +
                         std::string(what_to_change));
}

void install_interrupt_cleanup() {
    struct sigaction sa{};
    sa.sa_handler = salab_on_interrupt;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
    std::signal(SIGXFSZ, SIG_IGN);
    (void)process_umask();
}

// ---- sizes -------------------------------------------------------------------------------

bool checked_mul(int64_t a, int64_t b, int64_t& out) {
    if (a < 0 || b < 0) return false;
    return !__builtin_mul_overflow(a, b, &out);
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t& out) { return !__builtin_mul_overflow(a, b, &out); }

int64_t saturating_mul(int64_t a, int64_t b) {
    int64_t out = 0;
    if (a <= 0 || b <= 0) return 0;
    return __builtin_mul_overflow(a, b, &out) ? std::numeric_limits<int64_t>::max() : out;
}

int64_t saturating_add(int64_t a, int64_t b) {
    int64_t out = 0;
    return __builtin_add_overflow(a, b, &out) ? std::numeric_limits<int64_t>::max() : out;
}

uint64_t host_memory_budget() {
    if (const char* env = std::getenv("SALAB_MEMORY_LIMIT_MIB")) {
        char* end = nullptr;
        const unsigned long long mib = std::strtoull(env, &end, 10);
        if (end != env && *end == '\0' && mib > 0 && mib < (1ull << 40)) return uint64_t(mib) << 20;
    }
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    uint64_t budget = pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) / 2 : (uint64_t(4) << 30);
    for (int res : {RLIMIT_AS, RLIMIT_DATA}) {
        struct rlimit rl{};
        if (::getrlimit(res, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            budget = std::min<uint64_t>(budget, uint64_t(rl.rlim_cur) / 2);
    }
    return budget;
}

std::string format_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 6) bytes /= 1024.0, ++u;
    char buf[64];
    if (u == 0 || bytes >= 100) std::snprintf(buf, sizeof buf, "%.0f %s", bytes, units[u]);
    else std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
    return buf;
}

std::string format_count(double count) {
    char buf[64];
    if (count < 1e6) std::snprintf(buf, sizeof buf, "%.0f", count);
    else std::snprintf(buf, sizeof buf, "%.2g", count);
    return buf;
}

}  // namespace salab
