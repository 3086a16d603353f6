#include "store/rados_layout.h"

#include <mutex>

namespace vmx::store {
namespace {

struct LazyCluster {
    RadosOptions options;
    std::mutex mutex;
    std::shared_ptr<RadosCluster> cluster;

    Result<std::shared_ptr<RadosCluster>> get() {
        std::lock_guard lock(mutex);
        if (cluster) return cluster;
        auto connected = RadosCluster::connect(options);
        if (!connected) return fail(connected.error());
        cluster = *connected;
        return cluster;
    }
};

}  // namespace

SpaceOpener rados_spaces(RadosOptions options) {
    auto lazy = std::make_shared<LazyCluster>();
    lazy->options = std::move(options);
    return [lazy](const std::string& name) -> Result<std::unique_ptr<Space>> {
        auto cluster = lazy->get();
        if (!cluster) return fail(cluster.error());
        auto space = RadosSpace::open(*cluster, name);
        if (!space) return fail(space.error());
        return std::unique_ptr<Space>(std::move(*space));
    };
}

}  // namespace vmx::store
