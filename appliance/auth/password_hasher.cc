// Password hashing for the control thread (see password_hasher.h).
#include "appliance/auth/password_hasher.h"

#include <span>

namespace vmx {
namespace {

bool acceptable(std::string_view password) { return !password.empty() && password.size() <= crypto::password_bytes_max; }

}  // namespace

void InlineHasher::hash(std::string_view password, HashCallback done) {
    if (!acceptable(password)) return done(fail(std::make_error_code(std::errc::invalid_argument)));
    done(crypto::hash_password(password, params_));
}

void WorkerHasher::hash(std::string_view password, HashCallback done) {
    if (!acceptable(password)) return done(fail(std::make_error_code(std::errc::invalid_argument)));
    HashJob job;
    job.token = next_token_++;
    job.secret = crypto::SecretBytes::copy_of(
        std::span(reinterpret_cast<const std::uint8_t*>(password.data()), password.size()));
    const std::uint64_t token = job.token;
    if (!workers_.submit(std::move(job))) return done(fail(std::make_error_code(std::errc::resource_unavailable_try_again)));
    waiting_.emplace(token, std::move(done));
}

void WorkerHasher::on_readable() {
    workers_.drain_hashes([this](HashDone&& finished) {
        auto it = waiting_.find(finished.token);
        if (it == waiting_.end()) return;
        HashCallback done = std::move(it->second);
        waiting_.erase(it);
        if (finished.error) return done(fail(finished.error));
        done(std::move(finished.hash));
    });
}

}  // namespace vmx
