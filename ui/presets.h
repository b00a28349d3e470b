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
    Pattern pattern;          // as the file holds it (when it parses)
};

// The path a preset is known by: absolute and normalised, so "assets/presets/x.json" and
// "/abs/build/../assets/presets/x.json" name the same preset.
std::string preset_key(const std::string& path);

// Where the shown pattern came from, for the preset picker and the titles.
struct PresetMatch {
    const PresetInfo* preset = nullptr;  // the file it was loaded from (null: built in / edited / unknown)
    bool edited = false;                 // it differs from that file in anything but n
    std::string label;                   // "BigBird", "BigBird (edited)", "(custom)"
};
// `preset_path` is AppState::preset_path (a preset_key, or "").
PresetMatch match_preset(const std::vector<PresetInfo>& presets, const std::string& preset_path, const Pattern& shown);

// One line of what a pattern is now (it stays true after edits, unlike a preset's description):
// "window r=4 + global every 250 + random 2/query; bidirectional", per head of a stack's layer.
std::string pattern_summary(const Pattern& p, int layer = 0, int head = 0);

// The first existing of <exe_dir>/../assets/presets, <exe_dir>/../../assets/presets,
// ./assets/presets and `fallback` (e.g. the source tree); "" when none exists.
std::string find_presets_dir(const std::string& exe_dir, const std::string& fallback = "");

// Every *.json in `dir`, sorted by file name; files that do not parse are listed with error.
std::vector<PresetInfo> list_presets(const std::string& dir);

// The pattern shown when no --pattern and no preset is found: DESIGN.md's BigBird-ish example.
Pattern default_pattern();

}  // namespace salab::ui
