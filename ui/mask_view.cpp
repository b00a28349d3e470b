#include "mask_view.h"

#include "colormap.h"
#include "figure.h"
#include "hops.h"
#include "legend.h"
#include "model_qkv.h"
#include "query_inspect.h"
#include "widgets.h"

#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace salab::ui {

Rgba8Image colorize_mask(const DensityImage& img, bool by_component) {
    Rgba8Image out;
    out.w = img.w;
    out.h = img.h;
    out.px.assign(size_t(img.w) * size_t(img.h), empty_color);
    const size_t count = std::min(out.px.size(), img.density.size());
    const bool comps = by_component && !img.components.empty();
    for (size_t i = 0; i < count; ++i) {
        const float d = img.density[i];
        if (!(d > 0.0f)) continue;
        if (!comps) {
            out.px[i] = sequential_color(mask_density_shade(d));
            continue;
        }
        float r = 0, g = 0, b = 0, wsum = 0;
        for (size_t c = 0; c < img.components.size(); ++c) {
            const float w = img.components[c][i];
            if (w <= 0) continue;
            const ImVec4 col = ImGui::ColorConvertU32ToFloat4(component_color(int(c)));
            r += w * col.x, g += w * col.y, b += w * col.z, wsum += w;
        }
        if (wsum <= 0) continue;
        const float bright = 0.35f + 0.65f * std::sqrt(d);
        const ImVec4 e = ImGui::ColorConvertU32ToFloat4(empty_color);
        const auto mix = [&](float bg, float c) { return bg + (c / wsum - bg) * bright; };
        out.px[i] = ImGui::ColorConvertFloat4ToU32({mix(e.x, r), mix(e.y, g), mix(e.z, b), 1.0f});
    }
    out.version = next_image_version();
    return out;
}

MaskImageRequest MaskView::request(const AppState& s) const {
    MaskImageRequest r;
    r.head = s.view.head;
    r.by_component = s.view.color_by_component;
    const int64_t n = s.params.pattern.n;
    if (canvas_.x < 8 || canvas_.y < 8 || n <= 0) return r;
    r.region = zoom_.visible(n, canvas_.x, canvas_.y);
    const PixelSize px = image_size_for(zoom_, r.region, 1024);
    r.w = px.w;
    r.h = px.h;
    return r;
}

void MaskView::draw(AppState& s, const ViewContext& ctx) {
    const int64_t n = s.params.pattern.n;
    const ImVec2 avail = ImGui::GetContentRegionAvail();
    const float line = ImGui::GetFrameHeightWithSpacing();

    // Toolbar.
    ImGui::Checkbox("by component", &s.view.color_by_component);
    tip("Colour each kept pair by the component that keeps it (K).");
    ImGui::SameLine();
    ImGui::Checkbox("blocks", &s.view.show_blocks);
    tip("Overlay the kernel's 64x64 blocks: green = full (no per-element test), amber = partial (bitmask), "
        "red = skipped (never visited) (B).");
    ImGui::SameLine();
    ImGui::Checkbox("minimap", &s.view.show_minimap);
    tip("Show where the view is when zoomed (M).");
    ImGui::SameLine();
    ImGui::Checkbox("hops", &s.view.show_hop_overlay);
    tip("Overlay the selected token's hop counts: along its row, hops from each key to it; along its column, "
        "hops from it to each query (white 0, bright 1, darker more, red never). Click a query to select (O).");
    ImGui::SameLine();
    if (ImGui::Button("fit")) fitted_n_ = -1;
    tip("Fit the whole matrix (F or double-click).");
    if (selected_ >= 0) {
        ImGui::SameLine();
        if (ImGui::SmallButton("clear selection")) selected_ = -1;
    }

    // Legends of what is drawn, under the canvas (their rows reserved first).
    const ModelResult* lm = ctx.model && !ctx.model->heads.empty() ? ctx.model : nullptr;
    const HeadPattern& legend_head =
        lm ? lm->heads[size_t(std::clamp(s.view.head, 0, int(lm->heads.size()) - 1))].pattern() : head_pattern(s.params, 0);
    int max_hops = 0;
    if (ctx.token_hops && ctx.token_hops->hops)
        for (const auto* v : {&ctx.token_hops->hops->to, &ctx.token_hops->hops->from})
            for (int h : *v) max_hops = std::max(max_hops, h);
    const std::vector<Legend> legends = mask_legends(s.view, legend_head, max_hops, selected_ >= 0 && selected_ < n);
    const int lrows = legend_rows(legends, avail.x);
    // (avail was taken above the toolbar: one more line for it.)
    const ImVec2 size{std::max(avail.x, 32.0f), std::max(avail.y - line * float(lrows + 1) - 2.0f, 32.0f)};
    if (fitted_n_ != n || size.x != canvas_.x || size.y != canvas_.y) {
        // A fitted view stays fitted when the canvas changes (legend rows come and go).
        if (fitted_n_ != n || zoom_ == ZoomTransform::fit(n, canvas_.x, canvas_.y)) zoom_ = ZoomTransform::fit(n, size.x, size.y);
        else zoom_.clamp(n, size.x, size.y);
        fitted_n_ = n;
    }
    canvas_ = size;
    const ImVec2 p0 = ImGui::GetCursorScreenPos();
    ImGui::InvisibleButton("mask_canvas", size, ImGuiButtonFlags_MouseButtonLeft | ImGuiButtonFlags_MouseButtonRight);
    const bool hovered = ImGui::IsItemHovered();
    ImGuiIO& io = ImGui::GetIO();
    const ImVec2 m{io.MousePos.x - p0.x, io.MousePos.y - p0.y};

    // Interaction: wheel zoom at the cursor, drag to pan, double-click to fit, click to select.
    if (hovered && io.MouseWheel != 0.0f) zoom_.zoom_at(m.x, m.y, std::pow(1.25, double(io.MouseWheel)), n, size.x, size.y);
    if (ImGui::IsItemActive() && (ImGui::IsMouseDragging(ImGuiMouseButton_Left, 2.0f) || ImGui::IsMouseDragging(ImGuiMouseButton_Right, 2.0f))) {
        zoom_.pan(io.MouseDelta.x, io.MouseDelta.y);
        zoom_.clamp(n, size.x, size.y);
    }
    // A click selects the query under it once the double-click time has passed without a second
    // click: the first click of a double-click (fit) must not re-select.
    if (hovered && ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
        fitted_n_ = -1;
        click_.double_click();
    } else if (ImGui::IsItemDeactivated() && ImGui::IsMouseReleased(ImGuiMouseButton_Left) && io.MouseClickedLastCount[0] < 2 &&
               ImGui::GetMouseDragDelta(ImGuiMouseButton_Left, 2.0f).x == 0 && ImGui::GetMouseDragDelta(ImGuiMouseButton_Left, 2.0f).y == 0) {
        const int64_t q = int64_t(std::floor(zoom_.to_token_y(m.y)));
        if (q >= 0 && q < n) click_.click(ImGui::GetTime(), q);
    }
    if (const auto q = click_.take(ImGui::GetTime(), double(io.MouseDoubleClickTime)); q && *q < n) {
        selected_ = *q;
        s.view.hop_token = int(*q);
    }

    ImDrawList* dl = ImGui::GetWindowDrawList();
    dl->PushClipRect(p0, {p0.x + size.x, p0.y + size.y}, true);
    const auto sx = [&](double tx) { return p0.x + float(zoom_.to_px_x(tx)); };
    const auto sy = [&](double ty) { return p0.y + float(zoom_.to_px_y(ty)); };
    // The matrix's extent, where the image does not cover it (each layer of fill costs frame
    // time on a software rasteriser).
    // An image of older params is still drawn (veiled, below) while it is of this n: the last
    // finished figure, not a blank canvas, until the new one lands.
    const bool image_fits = ctx.mask && ctx.model && (ctx.mask->gen == ctx.model->gen || image_n_ == n);
    const bool have_image = !image_.empty() && image_fits;
    if (!have_image || !(image_region_ == zoom_.visible(n, size.x, size.y)))
        dl->AddRectFilled({sx(0), sy(0)}, {sx(double(n)), sy(double(n))}, empty_color);

    // The latest image (it moves with the view until the worker sends the new one).
    if (ctx.mask) {
        const MaskImageResult& r = *ctx.mask;
        if (colored_from_ != r.id || colored_by_component_ != s.view.color_by_component) {
            image_ = colorize_mask(r.image, s.view.color_by_component);
            image_region_ = r.image.region;
            colored_from_ = r.id;
            colored_by_component_ = s.view.color_by_component;
            image_n_ = ctx.model && ctx.model->gen == r.gen ? ctx.model->stats.n : -1;
            if (image_region_ == TokenRect{0, 0, n, n}) overview_ = image_;
        }
        image_current_ = ctx.current(r.gen) && r.request == request(s);
        if (!image_.empty() && r.image.region.rows > 0 && image_fits) {
            const TokenRect& g = image_region_;
            draw_image(*ctx.textures, TextureSlot::mask, image_, dl, {sx(double(g.col0)), sy(double(g.row0))},
                       {sx(double(g.col0 + g.cols)), sy(double(g.row0 + g.rows))});
        }
    }

    const ModelResult* model = ctx.model && !ctx.model->heads.empty() ? ctx.model : nullptr;
    const int head = model ? std::clamp(s.view.head, 0, int(model->heads.size()) - 1) : 0;

    // Block overlay: listed blocks of the visible block rows, gaps as skipped.
    if (s.view.show_blocks && model && model->blocks) {
        const BlockMask& b = *model->blocks;
        const TokenRect vis = zoom_.visible(n, size.x, size.y);
        // (The model may still be the previous one, of another n, while the new one is built.)
        const int64_t I0 = std::min(b.num_blocks, vis.row0 / b.block);
        const int64_t I1 = std::min(b.num_blocks, (vis.row0 + vis.rows + b.block - 1) / b.block);
        const int64_t J0 = std::min(b.num_blocks, vis.col0 / b.block);
        const int64_t J1 = std::min(b.num_blocks, (vis.col0 + vis.cols + b.block - 1) / b.block);
        const double block_px = double(b.block) / zoom_.tokens_per_px;
        if ((I1 - I0) * (J1 - J0) > 60000 || block_px < 2.0) {
            const char* msg = "zoom in to see blocks";
            dl->AddText({p0.x + 8, p0.y + 6}, IM_COL32(255, 200, 120, 255), msg);
        } else {
            std::vector<std::pair<int64_t, bool>> row;
            for (int64_t I = I0; I < I1; ++I) {
                row.clear();
                const size_t rb = size_t(int64_t(head) * b.num_blocks + I);
                for (uint32_t e = b.row_ptr[rb]; e < b.row_ptr[rb + 1]; ++e) {
                    const BlockEntry entry = decode_entry(b.entries[2 * size_t(e)]);
                    row.push_back({entry.index, entry.partial});
                }
                std::sort(row.begin(), row.end());
                const float y0 = sy(double(I * b.block)), y1 = sy(double(std::min<int64_t>(n, (I + 1) * b.block)));
                int64_t next = J0;
                const auto skip = [&](int64_t a, int64_t z) {
                    if (z > a) dl->AddRectFilled({sx(double(a * b.block)), y0}, {sx(double(std::min<int64_t>(n, z * b.block))), y1}, to_imu32(kBlockSkippedRgb, 40));
                };
                for (auto [J, partial] : row) {
                    if (J < J0 || J >= J1) continue;
                    skip(next, J);
                    const ImVec2 a{sx(double(J * b.block)), y0}, z{sx(double(std::min<int64_t>(n, (J + 1) * b.block))), y1};
                    dl->AddRectFilled(a, z, partial ? to_imu32(kBlockPartialRgb, 28) : to_imu32(kBlockFullRgb, 32));
                    if (block_px >= 12) dl->AddRect(a, z, partial ? to_imu32(kBlockPartialRgb, 90) : to_imu32(kBlockFullRgb, 110));
                    next = J + 1;
                }
                skip(next, J1);
            }
        }
    }

    // Hop overlay: along the selected token's row, hops(j -> t) for every key j; along its
    // column, hops(t -> i) for every query i. Bands of at least 6 px so they read at any zoom.
    const TokenHopResult* th = ctx.token_hops;
    if (s.view.show_hop_overlay && th && th->hops && th->token < n && ctx.current(th->gen)) {
        const int64_t t = th->token;
        // The bands run just above the token's row and left of its column, never over them: the
        // row itself (a global token's, say) stays visible.
        const float band = 6.0f, gap = 2.0f;
        const float ry = sy(double(t)) - gap - band;
        const float cx = sx(double(t)) - gap - band;
        const TokenRect vis = zoom_.visible(n, size.x, size.y);
        int maxh = 1;
        for (int v : th->hops->to) maxh = std::max(maxh, v);
        for (int v : th->hops->from) maxh = std::max(maxh, v);
        const int cols = std::max(1, int(std::ceil(double(vis.cols) / std::max(1.0, zoom_.tokens_per_px))));
        const auto worst = [&](const std::vector<int>& v, int64_t a, int64_t b) {
            int w = 0;
            for (int64_t k = a; k < b && k < int64_t(v.size()); ++k) {
                if (v[size_t(k)] < 0) return -1;
                w = std::max(w, v[size_t(k)]);
            }
            return w;
        };
        for (int c = 0; c < cols; ++c) {
            const int64_t a = vis.col0 + int64_t(c) * vis.cols / cols, b = std::max(a + 1, vis.col0 + int64_t(c + 1) * vis.cols / cols);
            dl->AddRectFilled({sx(double(a)), ry}, {sx(double(b)), ry + band}, to_imu32(overlay_hop_rgb(worst(th->hops->to, a, b), maxh)));
        }
        const int rows = std::max(1, int(std::ceil(double(vis.rows) / std::max(1.0, zoom_.tokens_per_px))));
        for (int r = 0; r < rows; ++r) {
            const int64_t a = vis.row0 + int64_t(r) * vis.rows / rows, b = std::max(a + 1, vis.row0 + int64_t(r + 1) * vis.rows / rows);
            dl->AddRectFilled({cx, sy(double(a))}, {cx + band, sy(double(b))}, to_imu32(overlay_hop_rgb(worst(th->hops->from, a, b), maxh)));
        }
        dl->AddRect({sx(0), ry - 1}, {sx(double(n)), ry + band + 1}, IM_COL32(0, 0, 0, 200));
        dl->AddRect({cx - 1, sy(0)}, {cx + band + 1, sy(double(n))}, IM_COL32(0, 0, 0, 200));
    }

    // Selected query: its row (the keys it reads) and its column (the queries that read it).
    if (selected_ >= 0 && selected_ < n) {
        const float t = std::max(1.0f, float(1.0 / zoom_.tokens_per_px));
        const float ry = sy(double(selected_)), cx = sx(double(selected_));
        dl->AddRectFilled({sx(0), ry}, {sx(double(n)), ry + t}, to_imu32(kSelectionRgb, 60));
        dl->AddRectFilled({cx, sy(0)}, {cx + t, sy(double(n))}, to_imu32(kSelectionRgb, 35));
        dl->AddRect({sx(0), ry - 1}, {sx(double(n)), ry + t + 1}, to_imu32(kSelectionRgb, 170));
    }
    dl->AddRect({sx(0), sy(0)}, {sx(double(n)), sy(double(n))}, IM_COL32(90, 90, 100, 255));

    // A real model's tokens along the top (keys) and left (queries) edges when few are visible;
    // the figures' rule (compute/figure.h) picks which.
    if (int64_t(s.model.tokens.size()) == n) {
        const TokenRect v = zoom_.visible(n, size.x, size.y);
        const double px_per_token = 1.0 / zoom_.tokens_per_px;
        const auto label = [&](int64_t t) { return token_label_text(s.model.tokens[size_t(t)]); };
        float widest = 0;
        for (int64_t t = v.col0; t < v.col0 + v.cols && v.cols <= kMaxTokenTicks; ++t)
            widest = std::max(widest, ImGui::CalcTextSize(label(t).c_str()).x);
        const float lh = ImGui::GetTextLineHeight();
        for (int64_t t : token_tick_indices(v.col0, v.cols, n, px_per_token, double(widest + 6))) {
            const std::string text = label(t);
            const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
            const ImVec2 a{sx(double(t) + 0.5) - ts.x * 0.5f, p0.y + 2};
            dl->AddRectFilled({a.x - 2, a.y}, {a.x + ts.x + 2, a.y + ts.y}, IM_COL32(0, 0, 0, 170), 2.0f);
            dl->AddText(a, IM_COL32(220, 220, 230, 255), text.c_str());
        }
        for (int64_t t : token_tick_indices(v.row0, v.rows, n, px_per_token, double(lh + 2))) {
            const std::string text = label(t);
            const ImVec2 ts = ImGui::CalcTextSize(text.c_str());
            const ImVec2 a{p0.x + 2, sy(double(t) + 0.5) - ts.y * 0.5f};
            dl->AddRectFilled({a.x - 1, a.y}, {a.x + ts.x + 2, a.y + ts.y}, IM_COL32(0, 0, 0, 170), 2.0f);
            dl->AddText(a, IM_COL32(220, 220, 230, 255), text.c_str());
        }
    }

    // Where we are: visible rows and keys, and the scale.
    {
        const TokenRect v = zoom_.visible(n, size.x, size.y);
        char info[220];
        // Where the image's densities were counted (the GPU from the block mask when zoomed out).
        const char* src = "";
        if (ctx.mask && ctx.model && ctx.mask->gen == ctx.model->gen)
            src = ctx.mask->on_gpu ? "  density: GPU" : (ctx.mask->gpu_error.empty() ? "  density: CPU" : "  density: CPU fallback");
        std::snprintf(info, sizeof info, "queries %lld-%lld  keys %lld-%lld  %.3g tokens/px%s", (long long)v.row0,
                      (long long)(v.row0 + v.rows - 1), (long long)v.col0, (long long)(v.col0 + v.cols - 1), zoom_.tokens_per_px, src);
        const ImVec2 ts = ImGui::CalcTextSize(info);
        const ImVec2 a{p0.x + 4, p0.y + size.y - ts.y - 6};
        dl->AddRectFilled({a.x - 2, a.y - 1}, {a.x + ts.x + 2, a.y + ts.y + 1}, IM_COL32(0, 0, 0, 170), 3.0f);
        dl->AddText(a, IM_COL32(190, 190, 200, 255), info);
    }

    // Minimap when zoomed.
    if (s.view.show_minimap && !zoom_.shows_all(n, size.x, size.y)) {
        const float mm = std::min(size.x, size.y) * 0.22f;
        const ImVec2 a{p0.x + size.x - mm - 8, p0.y + size.y - mm - 8}, z{a.x + mm, a.y + mm};
        dl->AddRectFilled({a.x - 2, a.y - 2}, {z.x + 2, z.y + 2}, IM_COL32(0, 0, 0, 200));
        if (!overview_.empty() && ctx.textures) draw_image(*ctx.textures, TextureSlot::minimap, overview_, dl, a, z);
        const TokenRect v = zoom_.visible(n, size.x, size.y);
        const float k = mm / float(n);
        dl->AddRect({a.x + float(v.col0) * k, a.y + float(v.row0) * k},
                    {a.x + float(v.col0 + v.cols) * k + 1, a.y + float(v.row0 + v.rows) * k + 1}, IM_COL32(255, 255, 255, 230), 0, 0, 1.5f);
    }
    dl->PopClipRect();

    const bool stale = !ctx.mask || !image_current_ || !ctx.model || !ctx.current(ctx.model->gen);
    // Computed for older parameters (not just another zoom): veiled until the new one lands.
    if (ctx.mask && (!ctx.current(ctx.mask->gen) || !ctx.model || !ctx.current(ctx.model->gen))) {
        dl->PushClipRect(p0, {p0.x + size.x, p0.y + size.y}, true);
        dim_rect(dl, {sx(0), sy(0)}, {sx(double(n)), sy(double(n))});
        dl->PopClipRect();
    }
    if (stale) draw_updating_badge({p0.x + size.x, p0.y}, ctx.activity);
    // The GPU density call failed: the CPU drew this image; say why (never silently).
    if (ctx.mask && !ctx.mask->gpu_error.empty()) {
        const std::string msg = "GPU density failed, CPU drew this: " + ctx.mask->gpu_error;
        dl->PushClipRect(p0, {p0.x + size.x, p0.y + size.y}, true);
        dl->AddRectFilled({p0.x + 4, p0.y + 4}, {p0.x + 8 + ImGui::CalcTextSize(msg.c_str()).x, p0.y + 8 + ImGui::GetTextLineHeight()},
                          IM_COL32(0, 0, 0, 190), 3.0f);
        dl->AddText({p0.x + 6, p0.y + 6}, IM_COL32(255, 170, 90, 255), msg.c_str());
        dl->PopClipRect();
    }

    draw_legends(legends, size.x);

    // Hover tooltip.
    if (hovered && !ImGui::IsMouseDragging(ImGuiMouseButton_Left)) {
        const int64_t i = int64_t(std::floor(zoom_.to_token_y(m.y))), j = int64_t(std::floor(zoom_.to_token_x(m.x)));
        if (i >= 0 && i < n && j >= 0 && j < n) {
            ImGui::BeginTooltip();
            if (zoom_.tokens_per_px > 1.0) {
                const int64_t i1 = int64_t(std::floor(zoom_.to_token_y(m.y + 1))), j1 = int64_t(std::floor(zoom_.to_token_x(m.x + 1)));
                ImGui::Text("queries %lld..%lld, keys %lld..%lld", (long long)i, (long long)std::min(n - 1, i1),
                            (long long)j, (long long)std::min(n - 1, j1));
                // The image cell under the cursor (the grid the image was counted on), its pairs
                // counted exactly from the CPU mask; the image's own value next to it.
                if (ctx.mask && !ctx.mask->image.density.empty() && model && model->gen == ctx.mask->gen) {
                    const DensityImage& d = ctx.mask->image;
                    const TokenRect& g = d.region;
                    const CellGrid cg = cell_grid(g, d.w, d.h);
                    if (cg.cw > 0 && i >= g.row0 && i < g.row0 + g.rows && j >= g.col0 && j < g.col0 + g.cols) {
                        const int64_t cx = cell_of(j - g.col0, g.cols, cg.cw), cy = cell_of(i - g.row0, g.rows, cg.ch);
                        const int mh = std::clamp(ctx.mask->request.head, 0, int(model->heads.size()) - 1);
                        const CellKey key{model->gen, mh, g.row0 + cell_begin(cy, g.rows, cg.ch), g.row0 + cell_begin(cy + 1, g.rows, cg.ch),
                                          g.col0 + cell_begin(cx, g.cols, cg.cw), g.col0 + cell_begin(cx + 1, g.cols, cg.cw)};
                        // At most ~32M keys generated per hovered cell (a dense cell of n = 65,536 is 8M).
                        const bool countable = (key.row1 - key.row0) * model->heads[size_t(mh)].n() <= (int64_t(1) << 25);
                        if (countable && !(key == count_key_)) {
                            count_ = count_pairs(model->heads[size_t(mh)], key.row0, key.row1, key.col0, key.col1);
                            count_key_ = key;
                        }
                        ImGui::Text("image cell: queries %lld..%lld, keys %lld..%lld", (long long)key.row0, (long long)key.row1 - 1,
                                    (long long)key.col0, (long long)key.col1 - 1);
                        if (countable && count_.pairs > 0)
                            ImGui::Text("kept: %lld of %lld pairs (%.2f%%, exact)", (long long)count_.kept, (long long)count_.pairs,
                                        100.0 * double(count_.kept) / double(count_.pairs));
                        const int px = int(int64_t(cx) * d.w / cg.cw), py = int(int64_t(cy) * d.h / cg.ch);
                        if (px >= 0 && py >= 0 && px < d.w && py < d.h) {
                            const float v = d.density[size_t(py) * size_t(d.w) + size_t(px)];
                            if (d.sampled)
                                ImGui::TextDisabled("image: %.2f%% (%s, %lld of %lld rows sampled)", 100.0 * v,
                                                    ctx.mask->on_gpu ? "GPU" : "CPU", (long long)d.rows_visited, (long long)d.rows_per_pixel);
                            else
                                ImGui::TextDisabled("image: %.2f%% (%s)", 100.0 * v, ctx.mask->on_gpu ? "GPU" : "CPU");
                        }
                    }
                }
            }
            ImGui::Text("query i = %lld, key j = %lld", (long long)i, (long long)j);
            if (model && model->gen == ctx.model->gen) {
                const HeadMask& hm = model->heads[size_t(head)];
                const uint32_t bits = hm.components_keeping(i, j);
                if (bits == 0) {
                    ImGui::TextDisabled("not kept");
                } else {
                    ImGui::Text("kept by:");
                    const auto& comps = hm.pattern().components;
                    for (size_t c = 0; c < comps.size() && c < 32; ++c)
                        if (bits & (1u << c)) {
                            ImGui::SameLine();
                            std::string what(to_string(comps[c].type));
                            // BigBird's block component: which of its three rules.
                            if (comps[c].type == ComponentType::block)
                                what += std::string(" (") + block_rule(comps[c], i, j, n, hm.pattern().causal) + ")";
                            ImGui::TextColored(ImColor(component_color(int(c))), "%s", what.c_str());
                        }
                }
                if (model->blocks && model->blocks->n == n) {
                    const BlockMask& b = *model->blocks;
                    ImGui::TextDisabled("kernel block (%lld, %lld): %s", (long long)(i / b.block), (long long)(j / b.block),
                                        kernel_block_kind(b, head, i, j));
                }
                if (hm.pattern().causal && j > i) ImGui::TextDisabled("(causal: j > i is never kept)");
            }
            ImGui::TextDisabled("wheel: zoom  drag: pan  double-click: fit  click: select query");
            ImGui::EndTooltip();
        }
    }
}

}  // namespace salab::ui
