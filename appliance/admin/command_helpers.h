// What the admin command handlers (commands_*.cc) share: replies, field reads, time formatting,
// the user a command names, and the one place a password from the admin socket is hashed.
// Control thread only, like the handlers.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "appliance/admin/commands.h"

namespace vmx::admin {

inline AdminReply ok(std::string text) { return {AdminStatus::ok, std::move(text)}; }
inline AdminReply refused(std::string text) { return {AdminStatus::refused, std::move(text)}; }
// A directory or key error as the admin should read it: "FIELD VALUE: what is wrong". Directory
// errors are the admin's to fix (refused); anything else is the daemon's (failed).
AdminReply error_reply(std::string_view subject, std::error_code e);

// A field the command's row requires (check_request has seen it), or "" when absent.
inline std::string_view required(const AdminRequest& r, std::string_view name) { return r.field(name).value_or(""); }

// "2026-11-23T08:00:00Z"
std::string format_time(std::int64_t unix_s);
// "1790000000" (unix seconds) or "2026-11-23" (UTC midnight).
std::optional<std::int64_t> parse_since(std::string_view text);

// The scope a user's data is sealed under, by the organisation's plan.
inline crypto::Scope scope_of(const Organisation& org, std::uint64_t user_id) {
    return crypto::scope_for(org.plan, org.id, user_id);
}

// The user a command names, read in a fresh transaction.
Result<User> named_user(AdminContext& c, std::string_view address);

// Loads a user, lets `change(user, message)` edit it, stores it and answers `message`. `change`
// returns an error reply to stop before anything is stored.
template <class Change>
AdminReply change_user(AdminContext& c, std::string_view address, Change change) {
    const auto keys = c.keys.snapshot();
    auto user = named_user(c, address);
    if (!user) return error_reply(fmt::format("user {}", address), user.error());
    std::string message;
    if (auto stop = change(*user, message)) return *stop;
    auto stored = c.directory.update_user(*keys, *user);
    if (!stored) return error_reply(fmt::format("user {}", address), stored.error());
    return ok(message);
}

// change_user for a change to what lets the user log in (password, app passwords, state, sessions):
// once it is stored, the logins the auth workers verified for the user are forgotten, so its next
// login runs Argon2id against what is stored now.
template <class Change>
AdminReply change_login(AdminContext& c, std::string_view address, Change change) {
    AdminReply reply = change_user(c, address, change);
    if (reply.status == AdminStatus::ok && c.verified_logins != nullptr) c.verified_logins->forget(address);
    return reply;
}

// The answer when a password could not be hashed (AdminContext::hasher): empty or too long is the
// admin's to fix; busy workers are worth another try.
AdminReply hash_refusal(std::error_code error);

}  // namespace vmx::admin
