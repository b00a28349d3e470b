#include "format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace salab::ui {

namespace {

// Three significant digits of v (>= 0) with a unit.
std::string sig3(double v, const char* unit) {
    char buf[48];
    const int decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
    std::snprintf(buf, sizeof buf, "%.*f %s", decimals, v, unit);
    return buf;
}

}  // namespace

std::string format_ms(double ms) {
    if (!std::isfinite(ms)) return "n/a";
    const double a = std::fabs(ms);
    if (a >= 1000.0) return sig3(ms / 1000.0, "s");
    if (a >= 1.0 || a == 0.0) return sig3(ms, "ms");
    return sig3(ms * 1000.0, "us");
}

std::string format_timing(double median_ms, double min_ms, double max_ms, int runs) {
    if (runs <= 1) return format_ms(median_ms) + " (1 run)";
    std::string lo = format_ms(min_ms), hi = format_ms(max_ms);
    // "1.20 ms-1.31 ms" reads worse than "1.20-1.31 ms" when the units agree.
    const size_t sp = lo.find(' ');
    if (sp != std::string::npos && lo.substr(sp) == hi.substr(hi.find(' '))) lo.resize(sp);
    return format_ms(median_ms) + " (" + lo + "-" + hi + ", " + std::to_string(runs) + " runs)";
}

std::string format_rate(double gflops) {
    if (!(gflops > 0) || !std::isfinite(gflops)) return "n/a";
    if (gflops >= 1000.0) return sig3(gflops / 1000.0, "TFLOP/s");
    if (gflops >= 1.0) return sig3(gflops, "GFLOP/s");
    // Small runs on a CPU device: "1.20 MFLOP/s", never "0.00 GFLOP/s".
    return gflops >= 1e-3 ? sig3(gflops * 1e3, "MFLOP/s") : sig3(gflops * 1e6, "kFLOP/s");
}

std::string format_count(int64_t v) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(size_t(i), ",");
    return v < 0 ? "-" + digits : digits;
}

std::string format_value(double v) {
    if (!std::isfinite(v)) return "n/a";
    if (std::fabs(v) < 1e15 && v == std::floor(v)) return format_count(int64_t(v));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

std::string ordinal(int64_t k) {
    const int64_t m100 = k % 100, m10 = k % 10;
    const char* suffix = (m100 >= 11 && m100 <= 13) ? "th" : m10 == 1 ? "st" : m10 == 2 ? "nd" : m10 == 3 ? "rd" : "th";
    return std::to_string(k) + suffix;
}

int64_t rescale_token(int64_t token, int64_t old_n, int64_t new_n) {
    if (new_n <= 0) return 0;
    if (old_n <= 1 || old_n == new_n) return std::clamp<int64_t>(token, 0, new_n - 1);
    // The last token stays the last (a causal pattern's most informed query).
    if (token >= old_n - 1) return new_n - 1;
    const double at = double(std::clamp<int64_t>(token, 0, old_n - 1)) / double(old_n - 1);
    return std::clamp<int64_t>(std::llround(at * double(new_n - 1)), 0, new_n - 1);
}

int64_t carry_token(int64_t prev_n, int64_t prev_token, int64_t n, int64_t token) {
    if (n <= 0) return 0;
    if (prev_n > 0 && n != prev_n && token == prev_token) return rescale_token(token, prev_n, n);
    return std::clamp<int64_t>(token, 0, n - 1);
}

}  // namespace salab::ui
