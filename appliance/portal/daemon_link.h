// How the portal reaches vaultmxd: one request on the daemon's user-scoped socket, answered later on
// the calling shard's thread. The portal's pages know commands and fields, never the wire format or
// the threads that carry them (vaultmx-portal's main provides those: portald/portal_workers.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmx::portal {

struct DaemonRequest {
    std::string command;                                       // "login", "whoami", "history", ...
    std::vector<std::pair<std::string, std::string>> fields;   // the session's token among them
    std::string secret;                                        // a password; never logged
};

enum class DaemonStatus : std::uint8_t {
    ok,           // text is the answer (JSON)
    refused,      // text says why, for the user ("bad credentials", "bad code")
    failed,       // the daemon could not do it now
    signed_out,   // the session is gone (expired, logged out elsewhere): sign in again
    unreachable,  // no answer from the daemon (not running, timed out)
};

struct DaemonReply {
    DaemonStatus status = DaemonStatus::unreachable;
    std::string text;
};

using DaemonDone = std::function<void(DaemonReply)>;

class DaemonLink {
public:
    virtual ~DaemonLink() = default;
    // `done` runs once, later, on the thread of the shard that called (never inside call()).
    virtual void call(std::uint32_t shard, DaemonRequest request, DaemonDone done) = 0;
};

}  // namespace vmx::portal
