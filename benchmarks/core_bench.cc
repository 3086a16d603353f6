// Micro-benchmarks of the core's thread-crossing paths: one SpscQueue push+pop, and one Mesh
// send+drain between two endpoints. Both run on one thread, so they measure the instructions and
// the cache traffic of the path itself, not a hand-off between cores.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "core/mesh.h"
#include "core/spsc_queue.h"

namespace {

void BM_SpscPushPop(benchmark::State& state) {
    vmx::SpscQueue<std::uint64_t> queue(1024);
    std::uint64_t value = 0;
    for (auto _ : state) {
        std::uint64_t in = value++;
        benchmark::DoNotOptimize(queue.push(in));
        benchmark::DoNotOptimize(queue.pop());
    }
}
BENCHMARK(BM_SpscPushPop);

// A batch of sends then one drain, as a shard sees it: the wake-up write happens once per batch.
void BM_MeshSendDrain(benchmark::State& state) {
    const auto batch = static_cast<std::uint32_t>(state.range(0));
    vmx::Mesh mesh(2, 4096);
    std::uint64_t received = 0;
    for (auto _ : state) {
        for (std::uint32_t i = 0; i < batch; ++i) {
            vmx::Message m;
            m.kind = vmx::MessageKind::user;
            m.a = i;
            benchmark::DoNotOptimize(mesh.send(0, 1, std::move(m)));
        }
        received += mesh.drain(1, [](vmx::Message m) { benchmark::DoNotOptimize(m.a); });
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(received));
}
BENCHMARK(BM_MeshSendDrain)->Arg(1)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
