// The query inspector: the selected query's kept keys grouped by the component that keeps them
// (BigBird's window / global / random parts), as key ranges, and the kernel blocks of its query
// block. Computed from the current model on the UI thread for one row, cached per query.
#pragma once

#include "app_state.h"
#include "query_inspect.h"
#include "view_context.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace salab::ui {

// A row of weights reduced to `bins` points (max per bin; x = the bin's middle key), for a plot
// of a row longer than the plot is wide.
struct RowBins {
    std::vector<double> x, y;
};
RowBins bin_row(const std::vector<float>& w, int bins);

class QueryView {
public:
    void draw(const AppState& s, const ViewContext& ctx);

private:
    void draw_row_weights(const ViewContext& ctx, int head, int64_t q, int64_t n);
    struct Key {
        uint64_t gen = 0;
        int head = 0;
        int64_t query = -1;
        bool operator==(const Key&) const = default;
    };
    Key key_;
    std::optional<QueryInspection> shown_;
};

}  // namespace salab::ui
