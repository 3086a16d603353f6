// The walk shape of the background jobs, on a real shard: each segment visited in resumable steps,
// one step at a time even when steps finish later, a failed step ending the pass, and a pass asked
// for while one runs being the same pass.
#include "appliance/jobs/segment_walk.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/appliance/support/appliance_fixture.h"

namespace vmx {
namespace {

using testing::wait_for;

struct Recorder final : ShardLocal {
    std::vector<std::string> steps;
    std::vector<bool> passes;
    int in_flight = 0;
    int in_flight_max = 0;
    std::unique_ptr<SegmentWalk<int>> walk;
};

// Three steps per segment (positions 0, 1, 2), each finished one loop turn later; `fail_at` fails
// that step.
std::unique_ptr<SegmentWalk<int>> make_walk(Shard& shard, Recorder& r, std::string fail_at = {}) {
    SegmentWalk<int>::Hooks hooks;
    hooks.begin = [&r] { r.steps.push_back("begin"); };
    hooks.step = [&r, &shard, fail_at](std::uint32_t segment, const std::optional<int>& from, SegmentWalk<int>::StepDone done) {
        const int at = from.value_or(0);
        const std::string name = std::to_string(segment) + ":" + std::to_string(at);
        r.steps.push_back(name);
        r.in_flight_max = std::max(r.in_flight_max, ++r.in_flight);
        shard.schedule(0, [&r, done, at, name, fail_at](Shard&) {
            --r.in_flight;
            if (name == fail_at) return done(fail(std::make_error_code(std::errc::io_error)));
            done(at < 2 ? std::optional<int>(at + 1) : std::nullopt);
        });
    };
    hooks.end = [&r](bool ok) { r.passes.push_back(ok); };
    return std::make_unique<SegmentWalk<int>>(shard, std::vector<std::uint32_t>{4, 7}, 0, std::move(hooks));
}

Recorder& recorder_of(Shard& shard) { return *static_cast<Recorder*>(shard.local()); }

struct WalkOnAShard {
    explicit WalkOnAShard(std::string fail_at = {})
        : engine([fail_at](Shard& shard) -> Result<std::unique_ptr<ShardLocal>> {
              auto r = std::make_unique<Recorder>();
              r->walk = make_walk(shard, *r, fail_at);
              return std::unique_ptr<ShardLocal>(std::move(r));
          }) {}
    // Runs fn on shard 0 with its recorder.
    void on_shard(const std::function<void(Recorder&)>& fn) {
        std::promise<void> ran;
        auto payload = std::make_unique<testing::RunOnShard>();
        payload->fn = [&](Shard& shard) {
            fn(recorder_of(shard));
            ran.set_value();
        };
        engine.send(0, std::move(payload));
        ran.get_future().wait();
    }
    testing::TestEngine engine;
};

TEST(SegmentWalkTest, VisitsEverySegmentInResumableStepsOneAtATime) {
    WalkOnAShard w;
    std::vector<std::string> steps;
    std::vector<bool> passes;
    w.on_shard([](Recorder& r) {
        r.walk->run_pass();
        r.walk->run_pass();  // already running: the same pass
    });
    ASSERT_TRUE(wait_for([&] {
        bool done = false;
        w.on_shard([&](Recorder& r) {
            done = !r.passes.empty();
            steps = r.steps;
            passes = r.passes;
            EXPECT_LE(r.in_flight_max, 1);
        });
        return done;
    }));
    EXPECT_EQ(steps, (std::vector<std::string>{"begin", "4:0", "4:1", "4:2", "7:0", "7:1", "7:2"}));
    EXPECT_EQ(passes, std::vector<bool>{true});
}

TEST(SegmentWalkTest, FailedStepEndsThePassAndTheNextStartsOver) {
    WalkOnAShard w("4:1");
    std::vector<std::string> steps;
    std::vector<bool> passes;
    for (int pass = 0; pass < 2; ++pass) {
        w.on_shard([](Recorder& r) { r.walk->run_pass(); });
        ASSERT_TRUE(wait_for([&] {
            w.on_shard([&](Recorder& r) {
                steps = r.steps;
                passes = r.passes;
            });
            return passes.size() == static_cast<std::size_t>(pass + 1);
        }));
    }
    EXPECT_EQ(steps, (std::vector<std::string>{"begin", "4:0", "4:1", "begin", "4:0", "4:1"}));
    EXPECT_EQ(passes, (std::vector<bool>{false, false}));
}

}  // namespace
}  // namespace vmx
