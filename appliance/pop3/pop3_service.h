// POP3S (RFC 1939 over implicit TLS, RFC 8314) on [listen] pop3s: the pure engine net/pop3/session.h
// driven through the stream layer, logins checked against the directory by the auth workers (never
// on a shard thread), the maildrop read from the store and deletions written by the mailbox's owner
// shard. One handler per connection, on the shard thread that accepted it.
//
// Where the session runs: the connection stays on its accepting shard (the socket, its io_uring and
// the TLS session cannot move between threads cheaply, and reads need no hand-off: any shard reads
// any segment through ShardStore::all_envs()). The work that must be in one place is handed to the
// mailbox's owner shard by message (Pop3Maildrops): the maildrop lock (one session per maildrop) and
// the QUIT deletions (only the owner writes a segment). So a session costs at most four small
// messages between shards, and a listing or a RETR never crosses threads.
#pragma once

#include <functional>
#include <memory>

#include "appliance/auth/ban_list.h"
#include "core/service.h"
#include "net/pop3/session.h"
#include "net/stream/stream.h"

namespace vmx {

class LoginFlow;
class Pop3Maildrops;
class ShardSessions;
class ShardReads;
class ShardStore;

// What a POP3 handler uses of its shard, and nothing else: built by the daemon for each shard.
struct Pop3ShardParts {
    ShardSessions* sessions = nullptr;     // live sessions (remote logout)
    Pop3Maildrops* maildrops = nullptr;    // maildrop locks and deletions (the owner shard's)
    LoginFlow* login = nullptr;            // the shared login flow (auth workers, policy, history)
    ShardStore* store = nullptr;           // keys and reads of any segment
    ShardReads* reads = nullptr;           // a shared store's readers (listing, bodies); null: one box
};
using Pop3PartsOf = std::function<Pop3ShardParts(Shard&)>;

struct Pop3Settings {
    pop3::Limits limits;
    pop3::Advertised advertised;
    std::shared_ptr<const net::TlsServerContext> tls;  // required: POP3 is served over TLS only
    std::shared_ptr<const net::TlsServerContextSlot> tls_slot;  // set: new sessions take its current context
    const BanList* bans = nullptr;    // an address banned for failed logins is turned away at once
};

// The listener's factory: a StreamService per shard (implicit TLS) whose handlers use that shard's
// parts, as parts_of(shard) gives them. `settings` outlives the engine.
ServiceFactory pop3_service_factory(const Pop3Settings& settings, Pop3PartsOf parts_of);

}  // namespace vmx
