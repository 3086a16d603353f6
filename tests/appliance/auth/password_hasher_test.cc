// The admin's password hashing runs on the auth workers: hash() returns before the hash exists,
// the answer comes through the workers' eventfd, and it verifies against the password.
#include "appliance/auth/password_hasher.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <optional>
#include <string>

namespace vmx {
namespace {

constexpr crypto::Argon2Params kCheap{8, 1, 1};

TEST(PasswordHasherTest, WorkerHasherAnswersLaterThroughTheWorkers) {
    AuthWorkerOptions options;
    options.argon2 = kCheap;
    AuthWorkers workers(options, 1);
    ASSERT_TRUE(workers.start());
    WorkerHasher hasher(workers);
    std::optional<Result<std::string>> answer;
    hasher.hash("a new password", [&](Result<std::string> h) { answer = std::move(h); });
    EXPECT_FALSE(answer.has_value());  // not on this (the control) thread
    EXPECT_EQ(hasher.waiting(), 1u);
    pollfd p{hasher.fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10'000), 1);
    hasher.on_readable();
    ASSERT_TRUE(answer.has_value());
    ASSERT_TRUE(*answer);
    EXPECT_EQ(crypto::verify_password("a new password", **answer), crypto::PasswordCheck::match);
    EXPECT_EQ(hasher.waiting(), 0u);
}

TEST(PasswordHasherTest, EmptyOrOverlongPasswordIsRefusedAtOnce) {
    InlineHasher inline_hasher(kCheap);
    AuthWorkers workers(AuthWorkerOptions{}, 1);
    WorkerHasher worker_hasher(workers);  // never started: a refusal must not need the workers
    for (PasswordHasher* h : {static_cast<PasswordHasher*>(&inline_hasher), static_cast<PasswordHasher*>(&worker_hasher)}) {
        std::optional<std::error_code> error;
        h->hash("", [&](Result<std::string> r) { error = r ? std::error_code() : r.error(); });
        EXPECT_EQ(error, std::make_error_code(std::errc::invalid_argument));
        h->hash(std::string(crypto::password_bytes_max + 1, 'x'), [&](Result<std::string> r) { error = r ? std::error_code() : r.error(); });
        EXPECT_EQ(error, std::make_error_code(std::errc::invalid_argument));
    }
}

}  // namespace
}  // namespace vmx
