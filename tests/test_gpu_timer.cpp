// GpuTimer (compute/gpu_timer.h) on the test device: sections in begin order, nested sections
// inside their enclosing one, misuse reported, no validation messages.
#include "gpu_fixture.h"

#include "gpu_buffer.h"
#include "gpu_timer.h"

#include <doctest/doctest.h>

#include <stdexcept>

using namespace salab;
using salab::test::check_no_validation_messages;
using salab::test::gpu_context;

TEST_SUITE("gpu") {
    TEST_CASE("GpuTimer: sections, nesting and misuse") {
        VulkanContext& ctx = gpu_context();
        GpuTimer timer(ctx);
        CHECK(timer.read_ms().empty());  // nothing recorded yet
        GpuBuffer buf(ctx, 1 << 20);
        for (uint32_t sections : {3u, 40u, 2u}) {  // the pool grows, then is reused
            ctx.submit_and_wait([&](VkCommandBuffer cb) {
                timer.start(cb, sections);
                const uint32_t outer = timer.begin(cb);
                for (uint32_t s = 1; s < sections; ++s) {
                    const GpuTimer::Scope scope(timer, cb);
                    CHECK(scope.section() == s);
                    vkCmdFillBuffer(cb, buf.handle(), 0, VK_WHOLE_SIZE, s);
                }
                timer.end(cb, outer);
                CHECK_THROWS_AS(timer.begin(cb), std::logic_error);  // more than started
            });
            const std::vector<double> ms = timer.read_ms();
            if (!timer.enabled()) {
                CHECK(ms.empty());
                continue;
            }
            REQUIRE(ms.size() == sections);
            for (uint32_t s = 0; s < sections; ++s) {
                CHECK(ms[s] >= 0.0);
                CHECK(ms[s] <= ms[0] * 1.01 + 1e-3);  // inside the enclosing section
            }
        }
        CHECK(timer.ticks_to_ms(uint64_t(1e6)) == doctest::Approx(ctx.info().timestamp_period_ns));
        check_no_validation_messages();
    }
}
