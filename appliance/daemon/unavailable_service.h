// UnavailableService: what a listener answers while its protocol engine is not wired into the
// daemon: a protocol-correct refusal (RFC 5321 allows a 554 greeting; RFC 2449 an -ERR [SYS/PERM]
// one), then close. Implicit-TLS listeners get no plaintext at all: they close at once.
// Shard thread only.
#pragma once

#include <string>

#include "core/connection.h"
#include "core/service.h"

namespace vmx {

class UnavailableService final : public Service {
public:
    explicit UnavailableService(std::string greeting) : greeting_(std::move(greeting)) {}
    void on_open(Connection& c) override {
        if (!greeting_.empty()) (void)c.send(greeting_);
        c.close(CloseMode::after_flush);
    }
    void on_data(Connection&, std::string_view) override {}
    std::string_view busy_reply() const override { return greeting_; }

private:
    std::string greeting_;
};

// The refusal for the listener named by its config key.
std::string unavailable_greeting(const std::string& listener_name);

}  // namespace vmx
