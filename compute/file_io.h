// Files read and written safely: every input read with a size limit and a clear message for
// directories and special files, every output written through one atomic writer (a temporary
// file in the target directory, each write and the close checked, renamed over the target on
// success, removed on failure or Ctrl+C), so a failed export leaves the old file or none and a
// lost write is never reported as success. Also the overflow-checked arithmetic and the host
// memory budget that the size limits are measured against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace salab {

// ---- reading -----------------------------------------------------------------------------

// The whole file, at most max_bytes. Throws InputError "<what> <path>: ..." when the path does
// not exist, is a directory ("is a directory, not a file"), is larger than max_bytes (regular
// files are checked by size before reading; pipes and devices such as /dev/zero by reading at
// most max_bytes + 1 bytes), or cannot be read.
std::string read_file_limited(const std::string& path, size_t max_bytes, std::string_view what);

// Checks that `path` names a readable regular file and returns its size. Throws InputError as
// read_file_limited does ("is a directory", "is not a regular file", "cannot open").
uint64_t regular_file_size(const std::string& path, std::string_view what);

// ---- writing -----------------------------------------------------------------------------

// Writes `path` atomically: data goes to a temporary file next to it (same directory, so the
// final rename cannot cross file systems), commit() flushes, fsyncs, closes and renames it over
// `path`. Destroying the writer without commit() (an exception, a failed write) removes the
// temporary file; so does SIGINT/SIGTERM/SIGHUP once install_interrupt_cleanup() ran. Paths that
// are not regular files and cannot be replaced (/dev/null, /dev/full, /dev/stdout, a FIFO) are
// written in place, every write still checked, so `--out /dev/full` fails.
// Every error throws InputError "<what> <path>: <reason>" (ENOSPC, EFBIG, EIO, ...).
class AtomicWriter {
public:
    AtomicWriter(const std::string& path, std::string_view what);
    ~AtomicWriter();
    AtomicWriter(const AtomicWriter&) = delete;
    AtomicWriter& operator=(const AtomicWriter&) = delete;

    void write(const void* data, size_t bytes);
    void write(std::string_view s) { write(s.data(), s.size()); }
    void commit();

    const std::string& path() const { return path_; }
    // Bytes written so far.
    uint64_t written() const { return written_; }

private:
    [[noreturn]] void fail(const std::string& reason);
    std::string path_, what_, temp_;  // temp_ empty: writing in place
    int fd_ = -1;
    int slot_ = -1;                  // interrupt-cleanup slot holding temp_
    uint64_t written_ = 0;
    bool committed_ = false;
};

// write_file_atomic(path, text, what): AtomicWriter in one call.
void write_file_atomic(const std::string& path, std::string_view data, std::string_view what);

// Free bytes for an unprivileged user on the file system that would hold `path` (its
// directory), or UINT64_MAX when unknown. With the process's RLIMIT_FSIZE folded in.
uint64_t writable_bytes_at(const std::string& path);
// Throws InputError when `bytes` more will not fit where `path` goes (free space, the file-size
// limit), naming the sizes and `what_to_change`. Paths that are not regular files are not
// checked (/dev/null, /dev/stdout).
void check_output_space(const std::string& path, uint64_t bytes, std::string_view what,
                        std::string_view what_to_change);

// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove the temporary files of the
// AtomicWriters alive at that moment and exit with 128 + signal; SIGXFSZ is ignored so that a
// file-size limit makes a write fail (EFBIG) instead of killing the process. Call once from main.
void install_interrupt_cleanup();

// ---- sizes -------------------------------------------------------------------------------

// a * b, or false on overflow (or a negative operand).
bool checked_mul(int64_t a, int64_t b, int64_t& out);
bool checked_mul(uint64_t a, uint64_t b, uint64_t& out);
// a * b saturated at INT64_MAX (operands >= 0).
int64_t saturating_mul(int64_t a, int64_t b);
int64_t saturating_add(int64_t a, int64_t b);

// Bytes of host memory a single command may plan to hold: half of physical memory, lowered to
// half of RLIMIT_AS / RLIMIT_DATA when those are set; SALAB_MEMORY_LIMIT_MIB overrides it.
uint64_t host_memory_budget();

// "1.5 GiB", "340 MiB", "12 KiB", "17 B".
std::string format_bytes(double bytes);
// "1.2e+12" style for large counts, plain digits below 1e6.
std::string format_count(double count);

}  // namespace salab
