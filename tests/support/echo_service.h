// EchoService: sends back every byte it receives. The engine's tests and benchmarks serve it;
// the daemon never does. Shard thread only.
#pragma once

#include "core/connection.h"
#include "core/service.h"
#include "core/shard.h"

namespace vmx::testing {

class EchoService final : public Service {
public:
    void on_open(Connection&) override {}
    void on_data(Connection& c, std::string_view bytes) override {
        if (!c.send(bytes)) c.close(CloseMode::now);  // past twice the queue limit: a broken peer
    }
    std::string_view busy_reply() const override { return "busy\r\n"; }
};

inline ServiceFactory echo_factory() {
    return [](Shard&) { return std::make_unique<EchoService>(); };
}

}  // namespace vmx::testing
