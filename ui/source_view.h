// The Q/K/V source picker's readout: the statistics of the current source's attention for the
// selected head (sink mass, mass within 16 tokens, entropy; compute/source_stats.h) next to the
// ranges its head type is calibrated to. Measured on its own thread, never in the frame loop;
// restarts when the source, n, d, seed or head changes.
#pragma once

#include "app_state.h"

#include <memory>

namespace salab::ui {

class SourceStatsView {
public:
    SourceStatsView();
    ~SourceStatsView();
    SourceStatsView(const SourceStatsView&) = delete;
    SourceStatsView& operator=(const SourceStatsView&) = delete;

    // A few lines inside the caller's window.
    void draw(const AppState& s);

    struct Worker;

private:
    std::unique_ptr<Worker> w_;
};

}  // namespace salab::ui
