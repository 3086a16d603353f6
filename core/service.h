// Service: what a listener does with its connections (a protocol engine's adapter, or the echo
// service of the tests and benchmarks). One instance per shard per listener, created on the shard
// thread and called only there. A handler may send and close, but the connection is reaped by
// the shard after the batch, never inside a handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "core/socket_address.h"

namespace vmx {

class Connection;
class Shard;

enum class TimeoutKind : std::uint8_t { idle, session };

class Service {
public:
    virtual ~Service() = default;
    virtual void on_open(Connection& c) = 0;
    // Bytes received; they are valid only during the call.
    virtual void on_data(Connection& c, std::string_view bytes) = 0;
    // The peer closed its side. Default: close once what is queued is sent.
    virtual void on_peer_closed(Connection& c);
    // The send queue fell below half its limit after the service asked with want_writable().
    virtual void on_writable(Connection&) {}
    // A timeout fired; the shard closes (after the queued bytes) when this returns, so a service
    // sends its goodbye here.
    virtual void on_timeout(Connection&, TimeoutKind) {}
    // The shard is stopping: finish the session soon (a protocol says goodbye at its next turn).
    virtual void on_drain(Connection&) {}
    // A connection this shard opened with Shard::connect() could not be made (refused, unreachable,
    // timed out: ETIMEDOUT). on_close() follows, as for every connection.
    virtual void on_connect_failed(Connection&, std::error_code) {}
    // Last call for this connection.
    virtual void on_close(Connection&) {}
    // Sent to a connection refused because the shard is at its connection limit (e.g. "421 ...").
    virtual std::string_view busy_reply() const { return {}; }
};

using ServiceFactory = std::function<std::unique_ptr<Service>(Shard&)>;

struct ListenerSpec {
    std::string name;          // the config key, e.g. "smtp"
    SocketAddress address;
    ServiceFactory factory;
};

}  // namespace vmx
