// The query inspector: the selected query's kept keys grouped by the component that keeps them
// (BigBird's window / global / random parts), as key ranges, and the kernel blocks of its query
// block. Computed from the current model on the UI thread for one row, cached per query.
#pragma once

#include "app_state.h"
#include "query_inspect.h"
#include "view_context.h"

#include <cstdint>
#include <optional>

namespace salab::ui {

class QueryView {
public:
    void draw(const AppState& s, const ViewContext& ctx);

private:
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
