// The live worker's mailbox (compute/live_mailbox.h): latest wins, and a drag is computed where it
// stops, not at every value it passes.
#include "live_mailbox.h"

#include <doctest/doctest.h>

#include <vector>

using namespace salab;
using ms = std::chrono::milliseconds;

namespace {

LiveRequest request(uint64_t gen, int64_t radius) {
    LiveRequest r;
    r.gen = gen;
    r.params.pattern.name = "window " + std::to_string(radius);
    return r;
}

}  // namespace

TEST_SUITE("live") {
    TEST_CASE("live mailbox: a drag computes the value it stops at, not each value it passes") {
        // A radius drag from 1 to 40, one new value per frame (16 ms); a worker that is free after
        // every frame takes whatever is due. Only the last value may reach it, once the drag ends.
        LiveMailbox box;
        const auto t0 = LiveMailbox::Clock::now();
        std::vector<uint64_t> computed;
        auto t = t0;
        for (uint64_t gen = 1; gen <= 40; ++gen) {
            t = t0 + ms(16 * gen);
            box.post(request(gen, int64_t(gen)), Drag::moving, t);
            if (auto job = box.due(t + ms(8))) computed.push_back(job->gen);
        }
        CHECK(computed.empty());
        CHECK(box.newest_gen() == 40);
        // The release reposts the same generation without the drag: due at once.
        box.post(request(40, 40), Drag::none, t + ms(20));
        const auto job = box.due(t + ms(20));
        REQUIRE(job);
        CHECK(job->gen == 40);
        CHECK(job->params.pattern.name == "window 40");
    }

    TEST_CASE("live mailbox: a drag whose pointer stops is computed after the settle time") {
        LiveMailbox box;
        const auto t0 = LiveMailbox::Clock::now();
        CHECK_FALSE(box.due_at());
        CHECK_FALSE(box.due(t0));
        box.post(request(7, 3), Drag::moving, t0);
        // No frame has seen the pointer still: the hand may still be moving.
        CHECK_FALSE(box.due(t0 + ms(kLiveSettleMs)));
        // The next frame has the pointer still: due kLiveSettleMs after the change.
        box.post(request(7, 3), Drag::still, t0 + ms(16));
        CHECK_FALSE(box.due(t0 + ms(kLiveSettleMs - 1)));
        REQUIRE(box.due_at());
        CHECK(*box.due_at() == t0 + ms(kLiveSettleMs));
        const auto job = box.due(t0 + ms(kLiveSettleMs));
        REQUIRE(job);
        CHECK(job->gen == 7);
        // A view change of the same generation does not restart the wait, and its view is the one due.
        LiveMailbox b2;
        b2.post(request(9, 1), Drag::still, t0);
        LiveRequest panned = request(9, 1);
        panned.view.hop_token = 12;
        b2.post(panned, Drag::still, t0 + ms(kLiveSettleMs - 10));
        const auto j2 = b2.due(t0 + ms(kLiveSettleMs));
        REQUIRE(j2);
        CHECK(j2->view.hop_token == 12);
        // A jerky drag (the pointer rests ~100 ms between moves, a frame sees it still each time):
        // the wait runs from the last move, so short rests compute nothing.
        LiveMailbox b3;
        for (uint64_t k = 1; k <= 10; ++k) {
            const auto t = t0 + ms(100 * k);
            b3.post(request(k / 3 + 1, int64_t(k)), Drag::moving, t);
            b3.post(request(k / 3 + 1, int64_t(k)), Drag::still, t + ms(16));
            CHECK_FALSE(b3.due(t + ms(99)));
        }
        REQUIRE(b3.due(t0 + ms(1000 + kLiveSettleMs)));
        CHECK(b3.due(t0 + ms(1000 + kLiveSettleMs))->gen == 4);
    }

    TEST_CASE(
        "live mailbox: a pointer that keeps moving without changing the value is computed after the longest hold") {
        // A coarse slider: the pointer moves every frame, the value stays.
        LiveMailbox box;
        const auto t0 = LiveMailbox::Clock::now();
        box.post(request(3, 1), Drag::moving, t0);
        for (int f = 1; f * 16 < kLiveMaxHoldMs; ++f) {
            box.post(request(3, 1), Drag::moving, t0 + ms(16 * f));
            CHECK_FALSE(box.due(t0 + ms(16 * f)));
        }
        REQUIRE(box.due(t0 + ms(kLiveMaxHoldMs)));
    }

    TEST_CASE("live mailbox: slow frames (longer than the settle time) that each bring a new value compute none") {
        // A loaded CPU draws a frame every 300 ms; each frame of the drag has a new value (the pointer
        // moved): none of them is a pause, however long the frame.
        LiveMailbox box;
        const auto t0 = LiveMailbox::Clock::now();
        int computed = 0;
        for (uint64_t gen = 1; gen <= 10; ++gen) {
            const auto t = t0 + ms(300 * gen);
            box.post(request(gen, int64_t(gen)), Drag::moving, t);
            if (box.due(t + ms(299))) ++computed;
        }
        CHECK(computed == 0);
        box.post(request(10, 10), Drag::none, t0 + ms(3100));  // released
        REQUIRE(box.due(t0 + ms(3100)));
        CHECK(box.due(t0 + ms(3100))->gen == 10);
    }

    TEST_CASE("live mailbox: without a drag the newest request is due at once, older ones are gone") {
        LiveMailbox box;
        const auto t0 = LiveMailbox::Clock::now();
        for (uint64_t gen = 1; gen <= 3; ++gen) box.post(request(gen, int64_t(gen)), Drag::none, t0 + ms(gen));
        const auto job = box.due(t0 + ms(3));
        REQUIRE(job);
        CHECK(job->gen == 3);
        // A drag that starts after a finished value: the new value waits, the old one is not due again.
        box.post(request(4, 4), Drag::moving, t0 + ms(10));
        CHECK_FALSE(box.due(t0 + ms(11)));
        CHECK(box.newest_gen() == 4);
    }

}  // TEST_SUITE
