// The engine's two error tiers: bad input the user can fix, and a failed
// Vulkan call after setup. Environment problems found during setup (no device, a missing
// feature) are not exceptions: they come back as values with reasons (ContextResult).
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace salab {

// `text` in double quotes for an error message: control characters, quotes and backslashes
// escaped as JSON writes them, cut to about `limit` characters with "..." (a key or name
// from a hostile file can hold a newline or be megabytes long).
inline std::string error_quote(std::string_view text, size_t limit = 40) {
    std::string out = "\"";
    for (size_t i = 0; i < text.size(); ++i) {
        if (i == limit) {
            out += "...";
            break;
        }
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += char(c);
        }
    }
    return out + '"';
}

// Bad user input (files, parameters, sizes past a device's limits). The message is one line,
// fit to print as is, and says what to change.
// Line breaks that reach the constructor anyway become spaces.
struct InputError : std::runtime_error {
    explicit InputError(const std::string& message) : std::runtime_error(one_line(message)) {}
    explicit InputError(const char* message) : InputError(std::string(message)) {}

  private:
    static std::string one_line(std::string m) {
        for (char& c : m)
            if (c == '\n' || c == '\r')
                c = ' ';
        return m;
    }
};

// A Vulkan call failed after setup; the message names the call, file and line (SALAB_VK in
// vk_context.h).
struct VulkanError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace salab
