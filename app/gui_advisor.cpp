#include "gui_advisor.h"

#include "threads.h"

#include "attention.h"
#include "vk_context.h"

namespace salab {

void AdvisorJob::start(const LiveParams& p, const std::string& family_path) {
    cancel();
    if (thread_.joinable()) thread_.join();
    cancel_ = false;
    running_ = true;
    done_ = 0;
    planned_ = 0;
    thread_ = std::thread([this, p, family_path] {
        lower_thread_priority();
        try {
            const Family f = load_family(family_path);
            const int64_t n = p.pattern.n;
            LiveParams lp = p;
            lp.pattern = with_n(f.base, n);
            const std::string id = p.source == QkvSource::npy ? "npy:" + p.q_path + "," + p.k_path + "," + p.v_path
                                                              : std::to_string(int(p.source)) + ":seed" + std::to_string(p.data_seed);
            AdvisorSource src = make_advisor_source(make_qkv(lp, 1), n, p.d, id);
            ContextOptions co;
            co.device_index = p.device;
            auto cr = VulkanContext::create(co);
            std::unique_ptr<AttentionEngine> engine;
            AdvisorOptions o;
            if (cr.context) {
                engine = std::make_unique<AttentionEngine>(*cr.context);
                o.engine = engine.get();
            } else {
                o.cost = CostModel::density;  // no device: rank by density, say so in the error line
                std::lock_guard l(m_);
                error_ = "no Vulkan device (" + cr.error + "): cost is density";
            }
            AdvisorResult r = run_advisor(f, src, cache_, o, &cancel_, [this](int64_t d, int64_t pl) {
                done_ = d;
                planned_ = pl;
            });
            std::lock_guard l(m_);
            result_ = std::make_shared<const AdvisorResult>(std::move(r));
            if (cr.context) error_.clear();
        } catch (const std::exception& e) {
            std::lock_guard l(m_);
            error_ = e.what();
        }
        running_ = false;
    });
}

}  // namespace salab
