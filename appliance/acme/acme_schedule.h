// Certificates from an ACME CA, kept valid ([acme] directory, email, ca_file, renew_days,
// check_interval_s): the daemon says which name sets it wants (the appliance's host names, and
// each mail domain's per [acme] domain_names); a set with no stored certificate, or one expiring
// within renew_days, or one an admin asked to renew (`vaultmx acme renew`), is ordered on a thread
// of the schedule's own (AcmeClient, blocking HTTPS), one order at a time; the result is stored
// (sealed) by the control thread and the TLS contexts are rebuilt by the caller.
// Threads: everything here on the control thread, except the order itself and the ChallengeBoard
// it fills (read by the control thread for the portal's redirect listener).
// Failure policy: a failed order is an event (`acme.order_failed`, the CA's reason, never a key);
// the certificate in use stays, and the set is tried again check_interval_s later. The certificate
// expiry alarm covers a renewal that keeps failing. At stop a running order is told to stop and
// joined (it polls the flag between requests; a request itself is bounded by its timeout).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "appliance/acme/acme_certificates.h"
#include "appliance/acme/acme_client.h"
#include "appliance/acme/challenge_board.h"

namespace vmx {

struct AcmeScheduleOptions {
    AcmeClientOptions client;
    HttpsOptions https;
    std::uint32_t renew_days = 30;
    std::uint32_t check_interval_s = 3600;
};

// One wanted certificate as `vaultmx acme status` shows it.
struct AcmeStatus {
    std::vector<std::string> names;
    std::string state;               // "valid", "ordering", "due", "failed"
    std::int64_t not_after_unix = 0; // 0: none stored
    std::string serial_hex;
    std::string issuer;
    std::string last_error;          // the last failed order's reason
    std::int64_t next_try_unix = 0;
};

class AcmeSchedule {
public:
    AcmeSchedule(KeyService& keys, AcmeScheduleOptions options);
    ~AcmeSchedule();
    AcmeSchedule(const AcmeSchedule&) = delete;
    AcmeSchedule& operator=(const AcmeSchedule&) = delete;

    // Loads the stored certificates (at start, before the TLS contexts are built).
    void load();
    // Starts a due order or collects a finished one; removes a stored certificate no set wants any
    // more (a mail domain removed, a name taken out of the config). True when the stored
    // certificates changed (the caller rebuilds its TLS contexts). wanted: every lower-case
    // host-name set, first name first (a partial list would drop the others' certificates).
    bool tick(std::int64_t now_unix, const std::vector<std::vector<std::string>>& wanted);
    // Orders the set holding `name` (every wanted set when empty) at the next tick, whatever its
    // expiry. False when no wanted set holds the name.
    bool renew(const std::string& name);
    std::vector<AcmeStatus> status(std::int64_t now_unix) const;

    const std::vector<StoredCertificate>& certificates() const noexcept { return stored_; }
    // Moves each time the stored certificates change (the portal asks for them again).
    std::uint64_t generation() const noexcept { return generation_; }
    const ChallengeBoard& board() const noexcept { return board_; }

private:
    struct Wanted {
        std::int64_t next_try_unix = 0;
        bool forced = false;
        std::string last_error;
    };
    const StoredCertificate* stored_for(const std::vector<std::string>& names) const;
    bool due(const std::vector<std::string>& names, const Wanted& w, std::int64_t now_unix) const;
    void start(const std::vector<std::string>& names, std::int64_t now_unix);
    bool collect(std::int64_t now_unix);
    bool prune(const std::vector<std::vector<std::string>>& wanted);

    KeyService& keys_;
    AcmeScheduleOptions options_;
    ChallengeBoard board_;
    std::vector<StoredCertificate> stored_;
    std::uint64_t generation_ = 1;
    std::map<std::vector<std::string>, Wanted> wanted_;

    std::thread thread_;
    std::atomic<bool> finished_{false};
    std::atomic<bool> stopping_{false};
    std::vector<std::string> ordering_;
    std::unique_ptr<crypto::AcmeKey> account_;
    std::variant<std::monostate, AcmeIssued, std::string> outcome_;
};

}  // namespace vmx
