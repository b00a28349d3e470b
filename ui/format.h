// Number formats every view uses, so a time, a rate or a count reads the same everywhere
// (plots, tooltips, readouts). Pure functions, no ImGui: unit tested.
#pragma once

#include <cstdint>
#include <string>

namespace salab::ui {

// 0.0123 -> "12.3 us", 1.234 -> "1.23 ms", 2419 -> "2.42 s"; three significant digits.
std::string format_ms(double ms);
// A median with its spread: "1.23 ms (1.20-1.31 ms, 5 runs)", "1.23 ms (1 run)".
std::string format_timing(double median_ms, double min_ms, double max_ms, int runs);
// GFLOP/s as "45.6 GFLOP/s", "1.23 TFLOP/s" or "1.20 MFLOP/s"; "n/a" when not measured (<= 0).
std::string format_rate(double gflops);
// Token counts and other integers: 16384 -> "16,384".
std::string format_count(int64_t v);
// A plot coordinate: integers without decimals ("16,384"), else three significant digits.
std::string format_value(double v);
// 1 -> "1st", 2 -> "2nd", 3 -> "3rd", 11 -> "11th", 22 -> "22nd".
std::string ordinal(int64_t k);

// A token index chosen for n tokens, carried to a new n at the same relative position.
int64_t rescale_token(int64_t token, int64_t old_n, int64_t new_n);
// The selected token after a frame in which n went from prev_n to n and the token from
// prev_token to token: when only n changed it keeps its relative place (rescale_token); when it
// was set in the same frame (a preset, a tour chapter) that value stands. Always in [0, n).
int64_t carry_token(int64_t prev_n, int64_t prev_token, int64_t n, int64_t token);

}  // namespace salab::ui
