// The shared login flow (see login_flow.h).
#include "appliance/auth/login_flow.h"

#include <memory>

#include "appliance/auth/login_policy.h"

namespace vmx {
namespace {

LoginVerdict failed(LoginOutcome outcome, std::uint64_t delay_ms = 0) {
    LoginVerdict v;
    v.outcome = outcome;
    v.delay_ms = delay_ms;
    return v;
}

}  // namespace

struct LoginFlow::Attempt {
    std::optional<Account> account;  // empty: no such user
    std::string protocol;
    std::string client_ip;
    std::string tls_version;
    LoginKind kind = LoginKind::mail_client;
};

LoginFlow::LoginFlow(const Directory& directory, ShardStore& store, ShardReads* reads, ShardAuth& auth,
                     ShardSessions& sessions, std::function<std::int64_t()> now_unix)
    : directory_(directory), store_(store), reads_(reads), auth_(auth), sessions_(sessions),
      now_unix_(std::move(now_unix)) {}

namespace {

// Counter names by protocol, then by LoginOutcome (literals: snapshots keep views of them).
constexpr std::string_view protocol_names[LoginStats::protocols] = {"pop3", "submission", "portal"};
constexpr std::string_view outcome_names[LoginStats::protocols][LoginStats::outcomes] = {
    {"login.pop3.ok", "login.pop3.bad_credentials", "login.pop3.temp_failure", "login.pop3.disabled",
     "login.pop3.policy_denied"},
    {"login.submission.ok", "login.submission.bad_credentials", "login.submission.temp_failure",
     "login.submission.disabled", "login.submission.policy_denied"},
    {"login.portal.ok", "login.portal.bad_credentials", "login.portal.temp_failure", "login.portal.disabled",
     "login.portal.policy_denied"},
};
constexpr std::string_view histogram_names[LoginStats::protocols] = {"login.pop3", "login.submission", "login.portal"};

}  // namespace

void LoginStats::count(std::string_view protocol, LoginOutcome outcome, std::uint64_t elapsed_us) noexcept {
    for (std::size_t p = 0; p < protocols; ++p) {
        if (protocol_names[p] != protocol) continue;
        const auto o = static_cast<std::size_t>(outcome);
        if (o < outcomes) counts[p][o].fetch_add(1, std::memory_order_relaxed);
        seconds[p].observe_us(elapsed_us);
    }
}

void LoginStats::list(CounterSnapshot& out) const {
    for (std::size_t p = 0; p < protocols; ++p) {
        for (std::size_t o = 0; o < outcomes; ++o) out.add(outcome_names[p][o], counts[p][o]);
        out.add(histogram_names[p], seconds[p]);
    }
}

void LoginFlow::login(LoginRequest request, LoginDone done) {
    // Every answer, early or from the workers, is counted once on its way out.
    done = [this, protocol = request.protocol, started_us = monotonic_us(), inner = std::move(done)](LoginVerdict v) {
        stats_.count(protocol, v.outcome, monotonic_us() - started_us);
        inner(std::move(v));
    };
    const std::string name = lower_ascii(request.name);
    if (reads_ == nullptr) {
        auto account = find_account(directory_, store_.keys(), name, store_.segment_count());
        return check(std::move(request), name, std::move(account), std::move(done));
    }
    // The request rides along in a shared_ptr (its secret cannot be copied); it is wiped with it.
    auto waiting = std::make_shared<LoginRequest>(std::move(request));
    const bool queued = reads_->read(
        [&directory = directory_, keys = store_.keys_snapshot(), name, segments = store_.segment_count()] {
            return find_account(directory, *keys, name, segments);
        },
        [this, waiting, name, done](Result<Account> account) {
            check(std::move(*waiting), name, std::move(account), done);
        });
    if (!queued) done(failed(LoginOutcome::temp_failure));
}

// The account (or its absence) is known: the secret goes to the auth workers.
void LoginFlow::check(LoginRequest request, const std::string& name, Result<Account> account, LoginDone done) {
    auto attempt = std::make_shared<Attempt>();
    attempt->protocol = std::move(request.protocol);
    attempt->client_ip = std::move(request.client_ip);
    attempt->tls_version = std::move(request.tls_version);
    attempt->kind = request.kind;
    if (!account && !no_such_account(account.error())) return done(failed(LoginOutcome::temp_failure));
    VerifyJob job;
    job.secret = std::move(request.secret);
    job.user = name;
    job.address = attempt->client_ip;
    if (account) {
        const User& u = account->user;
        if (!u.password_hash.empty()) job.candidates.push_back({u.password_hash, LoginMethod::password});
        if (request.kind == LoginKind::mail_client)
            for (const AppPassword& a : u.app_passwords) job.candidates.push_back({a.hash, LoginMethod::app_password});
        attempt->account = std::move(*account);
    }
    // The result carries the done callback; ShardAuth keeps it until the worker answers.
    auto shared_done = std::make_shared<LoginDone>(std::move(done));
    const bool queued = auth_.verify(std::move(job), [this, attempt, shared_done](const VerifyDone& verdict) {
        verified(*attempt, verdict, *shared_done);
    });
    if (!queued) report(*attempt, failed(LoginOutcome::temp_failure), LoginFailure::temporary, *shared_done);
}

// The secret was checked on a worker. Account state and policy are looked at only now, so a wrong
// password never learns whether the account exists, is disabled or is restricted.
void LoginFlow::verified(const Attempt& attempt, const VerifyDone& verdict, const LoginDone& done) {
    if (verdict.refused)  // not even checked: this address failed too often; the user elsewhere is unaffected
        return report(attempt, failed(LoginOutcome::temp_failure, verdict.delay_ms), LoginFailure::throttled, done);
    if (!verdict.matched)
        return report(attempt, failed(LoginOutcome::bad_credentials, verdict.delay_ms), LoginFailure::bad_credentials,
                      done);
    const Account& account = *attempt.account;  // a match needs a candidate, so an account
    LoginVerdict result;
    result.outcome = LoginOutcome::ok;
    result.method = *verdict.matched;
    if (account.user.state == UserState::closed && attempt.kind == LoginKind::portal && !account.user.purging) {
        // The account holder, on the portal, during the closure's delay: signed in to undo it
        // (the portal's session then allows nothing else).
        result.account = account;
        return report(attempt, std::move(result), LoginFailure::account_closed, done);
    }
    if (account.user.state == UserState::closed) {
        // The same answer as a wrong password, so a login cannot tell a closed account from a
        // typo; only the history (the admin's) says why.
        LoginVerdict refused = failed(LoginOutcome::bad_credentials, verdict.delay_ms);
        refused.method = result.method;
        return report(attempt, std::move(refused), LoginFailure::account_closed, done);
    }
    if (account.user.state != UserState::active) {
        result.outcome = LoginOutcome::disabled;
        return report(attempt, std::move(result), LoginFailure::account_disabled, done);
    }
    if (account.org.policy.require_mfa && result.method == LoginMethod::password && attempt.kind == LoginKind::mail_client) {
        result.outcome = LoginOutcome::policy_denied;
        return report(attempt, std::move(result), LoginFailure::mfa_required, done);
    }
    if (!address_allowed(attempt.client_ip, account.org.policy.allowed_networks)) {
        result.outcome = LoginOutcome::policy_denied;
        return report(attempt, std::move(result), LoginFailure::network_not_allowed, done);
    }
    result.account = account;
    report(attempt, std::move(result), LoginFailure::none, done);
}

// Into the account's login history (an unknown name has none), then to the caller.
void LoginFlow::report(const Attempt& attempt, LoginVerdict result, LoginFailure reason, const LoginDone& done) {
    if (attempt.account) {
        LoginEvent e;
        e.user_id = attempt.account->user.id;
        e.time_unix = now_unix_();
        e.result = result.outcome == LoginOutcome::ok ? vmx::LoginResult::success : vmx::LoginResult::failure;
        e.reason = reason;
        e.method = result.method;
        e.protocol = attempt.protocol;
        e.client_ip = attempt.client_ip;
        e.tls_version = attempt.tls_version;
        sessions_.report_login(std::move(e));
    }
    done(std::move(result));
}

}  // namespace vmx
