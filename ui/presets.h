// Preset patterns (assets/presets/*.json): where they are and what each one is.
#pragma once

#include "pattern.h"

#include <string>
#include <vector>

namespace salab::ui {

struct PresetInfo {
    std::string path;
    std::string name;         // the pattern's name, else the file stem
    std::string description;  // the pattern's description
    std::string error;        // non-empty when the file does not parse
};

// The first existing of <exe_dir>/../assets/presets, <exe_dir>/../../assets/presets,
// ./assets/presets and `fallback` (e.g. the source tree); "" when none exists.
std::string find_presets_dir(const std::string& exe_dir, const std::string& fallback = "");

// Every *.json in `dir`, sorted by file name; files that do not parse are listed with error.
std::vector<PresetInfo> list_presets(const std::string& dir);

// The pattern shown when no --pattern and no preset is found: DESIGN.md's BigBird-ish example.
Pattern default_pattern();

}  // namespace salab::ui
