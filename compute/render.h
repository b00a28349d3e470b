// Views rendered off-screen to RGBA images (salab-cli render, docs, tests). No UI code: the GUI
// draws the same data live; these are the files a user can put in a paper or a slide.
#pragma once

#include "attention.h"
#include "palette.h"
#include "problem.h"

#include <cstdint>
#include <string>
#include <vector>

namespace salab {

struct Image {
    int width = 0, height = 0;
    std::vector<uint8_t> rgba;  // row-major, 4 bytes per pixel
    void set(int x, int y, Rgb8 c);
};

// Mask of head `head`: each pixel the fraction of kept pairs among the tokens it covers
// (exact cells when n <= size). O(kept pairs of the head).
Image render_mask(const HeadMask& mask, int size);
// Block classification of one head: full, partial, skipped (not visited).
Image render_blocks(const BlockMask& bm, int head, int size);
// Softmax weights of one head from the GPU (log colour scale), sampled at ceil(n / size).
Image render_heatmap(AttentionEngine& engine, const BlockMask& bm, int head, int size);
// hops(source -> target): rows are sources, columns targets (sampled when n > size).
Image render_hops(const std::vector<std::vector<Csr>>& stack, int size);

// The same views as figure panels (figure.h): the cells plus title, axis labels, legend and a
// caption with the numbers a reader needs (density, kept pairs, block counts, hops).
// `name`: the pattern's name for the title; `cells` at most this many cells per side.
struct PanelData;
PanelData mask_panel(const std::string& name, const HeadMask& mask, int cells, int head = 0);
PanelData blocks_panel(const std::string& name, const BlockMask& bm, int head, int cells);
PanelData heatmap_panel(const std::string& name, AttentionEngine& engine, const BlockMask& bm, int head, int cells);
PanelData hops_panel(const std::string& name, const std::vector<std::vector<Csr>>& stack, int cells);

// Writes PNG; throws InputError when the file cannot be written.
void write_png(const std::string& path, const Image& image);

}  // namespace salab
