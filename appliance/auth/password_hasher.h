// Argon2id hashing of a password an admin sets, answered by callback: on the auth workers for the
// daemon (WorkerHasher: the control thread serves the admin socket and ships logs, and must not
// spend a tenth of a second per hash), or at once where nothing else waits (InlineHasher: tools,
// tests). Control thread only; the secret is wiped as soon as it is hashed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "appliance/auth/auth_workers.h"
#include "core/result.h"
#include "crypto/password.h"
#include "crypto/secret_bytes.h"

namespace vmx {

using HashCallback = std::function<void(Result<std::string> hash)>;

class PasswordHasher {
public:
    virtual ~PasswordHasher() = default;
    // `done` runs once, now or later on this thread: the PHC string, or invalid_argument for an
    // empty or over-long password, or resource_unavailable_try_again when the workers are full.
    virtual void hash(std::string_view password, HashCallback done) = 0;
};

class InlineHasher final : public PasswordHasher {
public:
    explicit InlineHasher(crypto::Argon2Params params) : params_(params) {}
    void hash(std::string_view password, HashCallback done) override;

private:
    crypto::Argon2Params params_;
};

class WorkerHasher final : public PasswordHasher {
public:
    explicit WorkerHasher(AuthWorkers& workers) : workers_(workers) {}
    void hash(std::string_view password, HashCallback done) override;
    // The control loop watches this and calls on_readable().
    int fd() const noexcept { return workers_.hash_result_fd(); }
    void on_readable();
    std::size_t waiting() const noexcept { return waiting_.size(); }

private:
    AuthWorkers& workers_;
    std::uint64_t next_token_ = 1;
    std::unordered_map<std::uint64_t, HashCallback> waiting_;
};

}  // namespace vmx
