// Owned<Destroy> (compute/vk_handle.h): one destroy per live handle, none for null or moved-from
// owners, parents passed through. A fake destroy function stands in for Vulkan's.
#include "vk_handle.h"

#include <doctest/doctest.h>

#include <utility>
#include <vector>

namespace {

// Records (parent tag, handle) of every destroy call.
struct Log {
    std::vector<std::pair<int, int>> destroyed;
};
struct FakeParent {
    Log* log = nullptr;
    int tag = 0;
};
void destroy_fake(FakeParent p, int handle, const VkAllocationCallbacks*) {
    p.log->destroyed.push_back({p.tag, handle});
}

Log* g_root_log = nullptr;
void destroy_root(int handle, const VkAllocationCallbacks*) { g_root_log->destroyed.push_back({-1, handle}); }

}  // namespace

TEST_SUITE("vk_handle") {
    TEST_CASE("Owned destroys each live handle once, with its parent") {
        Log log;
        {
            salab::Owned<destroy_fake> a({&log, 1}, 10);
            salab::Owned<destroy_fake> none;  // null: never destroyed
            salab::Owned<destroy_fake> b(std::move(a));
            CHECK(a.get() == 0);
            CHECK(b.get() == 10);
            salab::Owned<destroy_fake> c({&log, 2}, 20);
            c = std::move(b);  // destroys 20, takes 10 with its parent
            CHECK(log.destroyed == std::vector<std::pair<int, int>>{{2, 20}});
            salab::Owned<destroy_fake>& same = c;
            c = std::move(same);  // self-move keeps it
            CHECK(c.get() == 10);
            const int raw = c;  // converts where the raw handle is taken
            CHECK(raw == 10);
        }
        CHECK(log.destroyed == std::vector<std::pair<int, int>>{{2, 20}, {1, 10}});
    }

    TEST_CASE("Owned without a parent, and reset") {
        Log log;
        g_root_log = &log;
        salab::Owned<destroy_root> r(7);
        r.reset();
        r.reset();  // already null
        CHECK(log.destroyed == std::vector<std::pair<int, int>>{{-1, 7}});
        r = salab::Owned<destroy_root>(8);
        r = salab::Owned<destroy_root>();
        CHECK(log.destroyed == std::vector<std::pair<int, int>>{{-1, 7}, {-1, 8}});
        g_root_log = nullptr;
    }
}
