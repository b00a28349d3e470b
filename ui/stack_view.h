// The layers x heads overview of a stack (BertViz's "model view" for masks): one small mask per
// (layer, head) with its density; click one to show it in every view. Thumbnails are counted on
// the CPU (aggregate_mask at 24 x 24, a few rows per pixel) on a thread of their own
// (StackThumbnailer), so opening a big stack never stalls a frame: until they land the overview
// shows the last finished grid veiled as "updating", or a placeholder.
#pragma once

#include "app_state.h"
#include "view_context.h"

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace salab::ui {

struct StackThumb {
    int layer = 0, head = 0;
    DensityImage image;   // empty when the head needs Q/K (lsh, top-k): not drawn here
    double density = 0;   // kept share of the sampled pairs
    std::string label;    // "L0 H1"
};
// Thumbnails of every (layer, head) of `p` at its n, `side` cells a side. Returns what it has
// when `stop` is requested (checked between heads and inside each count).
std::vector<StackThumb> stack_thumbnails(const Pattern& p, int side = 24, std::stop_token stop = {});

// Builds stack_thumbnails on its own thread, newest pattern wins: a request for another pattern
// cancels the build in progress, and a cancelled build is never published.
class StackThumbnailer {
public:
    // `wake` is called from the builder thread after each result (the frame loop redraws).
    explicit StackThumbnailer(std::function<void()> wake = {});
    ~StackThumbnailer();
    StackThumbnailer(const StackThumbnailer&) = delete;
    StackThumbnailer& operator=(const StackThumbnailer&) = delete;

    struct Result {
        Pattern pattern;  // what the thumbnails are of
        std::vector<StackThumb> thumbs;
        std::string error;  // the pattern did not validate
    };
    // Asks for p's thumbnails; cheap when p is the pattern last asked for (call every frame).
    void request(const Pattern& p);
    // The newest finished result (possibly of an older pattern), or null before the first.
    std::shared_ptr<const Result> latest() const;
    // A build is pending or running.
    bool busy() const;

    struct Builder;

private:
    std::unique_ptr<Builder> b_;
};

class StackView {
public:
    explicit StackView(std::function<void()> wake = {}) : thumbnailer_(std::move(wake)) {}
    // Draws the grid; a click sets params.layer and view.head.
    void draw(AppState& s, const ViewContext& ctx);

private:
    StackThumbnailer thumbnailer_;
};

}  // namespace salab::ui
