// One login, as every protocol makes it (POP3 today; submission and the portal share it): the
// account looked up on the shard (a short read; on a store shared by nodes, by a store reader), the
// secret checked on the auth workers (throttle per address and per user, the decoy hash for an
// unknown name, never Argon2 on a shard), and only after a match the account's state and its
// organisation's policy (MFA required: app passwords only for mail clients; allowed networks).
// Every attempt on a known account goes to its login history with method and protocol. Unknown and
// known users look alike in answer and in timing.
// Shard thread only; one LoginFlow per shard.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "appliance/auth/auth_workers.h"
#include "appliance/auth/sessions.h"
#include "appliance/common/counters.h"
#include "appliance/directory/account.h"
#include "appliance/mailstore/shard_store.h"
#include "appliance/mailstore/store_readers.h"
#include "crypto/secret_bytes.h"

namespace vmx {

enum class LoginOutcome : std::uint8_t {
    ok,
    bad_credentials,  // a wrong secret, or no such user (the same answer)
    temp_failure,     // the directory or the workers could not answer, or the address is throttled
    disabled,         // the right secret for a disabled account
    policy_denied,    // the right secret, but the organisation's policy refuses this login
};

// Who logs in: a mail client (the password, or an app password; an organisation that requires MFA
// takes app passwords only), or the portal's sign-in (the account password only: app passwords are
// for mail clients, and the portal asks for the second factor itself). A closed account that is not
// yet purging signs in to the portal too, so its holder can undo the closure there.
enum class LoginKind : std::uint8_t { mail_client, portal };

struct LoginRequest {
    LoginKind kind = LoginKind::mail_client;
    std::string name;           // the login name as the client gave it
    crypto::SecretBytes secret;
    std::string protocol;       // "pop3", "submission", "portal": for the login history
    std::string client_ip;
    std::string tls_version;    // empty without TLS
};

struct LoginVerdict {
    LoginOutcome outcome = LoginOutcome::temp_failure;
    std::uint64_t delay_ms = 0;      // hold the answer this long (a failure's throttle delay)
    std::optional<Account> account;  // set for ok: the user, its organisation and its mailbox
    LoginMethod method = LoginMethod::password;
};

using LoginDone = std::function<void(LoginVerdict)>;

// Logins by protocol and outcome, and how long each took to decide (the throttle's hold not
// included): the shard writes, the metrics endpoint reads with relaxed loads. Never by user.
struct LoginStats {
    static constexpr std::size_t protocols = 3;  // pop3, submission, portal (an unknown one is not counted)
    static constexpr std::size_t outcomes = 5;   // LoginOutcome's values
    std::array<std::array<std::atomic<std::uint64_t>, outcomes>, protocols> counts{};
    std::array<DurationHistogram, protocols> seconds;

    void count(std::string_view protocol, LoginOutcome outcome, std::uint64_t elapsed_us) noexcept;
    void list(CounterSnapshot& out) const;
};

// control -> a shard: a portal sign-in, run by the shard's LoginFlow (answered by PortalLoginAnswer).
struct PortalLoginCall final : MessagePayload {
    LoginRequest request;
};
struct PortalLoginAnswer final : MessagePayload {
    LoginVerdict verdict;
};

class LoginFlow {
public:
    // `reads`: a shared store's readers, which look the account up; null: on this shard.
    LoginFlow(const Directory& directory, ShardStore& store, ShardReads* reads, ShardAuth& auth, ShardSessions& sessions,
              std::function<std::int64_t()> now_unix);

    // `done` runs once on this shard, at once or after the workers answered; the caller checks
    // that its connection is still there.
    void login(LoginRequest request, LoginDone done);
    const LoginStats& stats() const noexcept { return stats_; }

private:
    struct Attempt;
    void check(LoginRequest request, const std::string& name, Result<Account> account, LoginDone done);
    void verified(const Attempt& attempt, const VerifyDone& verdict, const LoginDone& done);
    void report(const Attempt& attempt, LoginVerdict result, LoginFailure reason, const LoginDone& done);

    const Directory& directory_;
    ShardStore& store_;
    ShardReads* reads_;
    ShardAuth& auth_;
    ShardSessions& sessions_;
    std::function<std::int64_t()> now_unix_;
    LoginStats stats_;
};

}  // namespace vmx
