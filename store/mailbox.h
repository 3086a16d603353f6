// Mailboxes in a segment's `mail` environment: append, list, streaming read, trash / restore, purge
// after retention, quota. Bodies and metadata of a change are written in ONE transaction. Every value
// is sealed (store/codec.h) with the identity store/record_key.h gives its key; LMDB keys carry only
// ids. Functions run on the segment's writer (a WriteTxn) or any reader (a ReadTxn); a MailboxWriter
// lets the shard turn changes into WriteOps for the store lane (one change in flight per mailbox).
//
// Keys (all exactly record_key_bytes: owner = user id, record = record_of(object, part)):
//   object 0,           part 15   mailbox state: next message id, live/trash counts and bytes,
//                                 the mailbox's random UIDL prefix
//   object m,           part 1    metadata of message m: size, arrival, UIDL, live | trash + time,
//                                 number of body chunks
//   object chunk(m, c), part 0    chunk c of message m's body, chunk(m, c) = 2^59 | m << 16 | c
// Message ids count up from 1 per mailbox and are never reused (message_id_max = 2^40 - 1); a body
// has at most 65536 chunks of body_chunk_bytes. A body is ONE sealed stream (crypto/sealed_stream.h):
// one data key, wrapped in chunk 0's record (the stream's identity is chunk(m, 0)'s), chunk c sealed
// with its index and the last one with the final flag, so chunks cannot be swapped, reordered, moved
// between messages or mailboxes, or cut off; the sealed metadata also fixes the chunk count and body
// size. Bodies written by older builds have a sealed record per chunk under chunk(m, c)'s identity
// (format v1, or v2 one-chunk records once the rewrap job upgraded them); the reader tells them apart
// by chunk 0 (a stream's head is not final when there is more than one chunk). Chunk keys sort after
// every metadata key of the mailbox, so listing never walks body chunks. The rewrap job rebuilds every
// identity from the key alone (no suffixes), and rewraps only records that carry a key: a stream's
// continuations never change.
//
// Quota counts the bytes of live messages (what the user sees); trash does not count, so a POP3 DELE
// frees space at once. Restoring from trash may take a mailbox over its quota (an admin action);
// appends then fail with over_quota until space is freed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "crypto/keyring.h"
#include "store/lane.h"
#include "store/lmdb.h"

namespace vmx::store {

inline constexpr const char* mail_dbi_name = "mailboxes";
inline constexpr std::size_t body_chunk_bytes = std::size_t{64} << 10;
inline constexpr std::uint32_t body_chunks_max = 65536;
inline constexpr std::uint64_t message_id_max = (std::uint64_t{1} << 40) - 1;
inline constexpr std::int64_t trash_retention_default_s = std::int64_t{14} * 24 * 3600;

// Which mailbox, where, and under which scope key (crypto::scope_for of the user's plan).
struct MailboxRef {
    std::uint64_t user_id = 0;
    std::uint32_t segment = 0;  // segment_of(user_id, layout.segments()): the env this runs on
    crypto::Scope scope;
};

struct MailboxState {
    std::uint64_t next_id = 1;
    std::uint64_t live_count = 0;
    std::uint64_t live_bytes = 0;
    std::uint64_t trash_count = 0;
    std::uint64_t trash_bytes = 0;
    std::uint32_t uidl_prefix = 0;  // random per mailbox, so a recreated mailbox never repeats UIDLs
    bool exists = false;            // false: no state record yet (nothing ever appended)
};

enum class MessageState : std::uint8_t { live = 1, trash = 2 };

struct MessageInfo {
    std::uint64_t id = 0;
    std::uint64_t size_bytes = 0;
    std::int64_t arrival_unix = 0;
    MessageState state = MessageState::live;
    std::int64_t deleted_unix = 0;  // when it went to trash; 0 while live
    std::uint32_t chunks = 0;
    std::string uidl;               // 18 characters: 8 hex of the prefix, 10 hex of the id
};

struct AppendOptions {
    std::int64_t now_unix = 0;
    std::uint64_t quota_bytes = 0;  // 0: no quota
};

// The mail environment's database of mailboxes (created if absent). Writer only, at start.
Result<Dbi> open_mailbox_dbi(Env& env);

// ---- Reading (any thread, inside a live transaction) -------------------------------------------
Result<MailboxState> load_state(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box);
Result<MailboxState> load_state(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box);
// One message's metadata, live or trash; not_found when it never existed or was purged.
Result<MessageInfo> message_info(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                                 std::uint64_t id);
// Live messages in id order (what POP3 shows); with_trash adds those in trash.
enum class ListTrash : std::uint8_t { exclude, include };
Result<std::vector<MessageInfo>> list_messages(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys,
                                               const MailboxRef& box, ListTrash trash = ListTrash::exclude);

// Streams one body a chunk at a time. It holds no transaction: each next() takes a live one (so a
// long POP3 RETR need not pin a snapshot), and checks every chunk's size and the total against the
// sealed metadata; a missing chunk is corrupt. It keeps the body's data key (wiped when it dies)
// from the first chunk on, so a rewrap between chunks changes nothing for it.
class BodyReader {
public:
    static Result<BodyReader> open(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                                   std::uint64_t id);
    // The next decrypted chunk, or nullopt after the last one.
    Result<std::optional<std::vector<std::uint8_t>>> next(ReadTxn& txn, const crypto::KeySet& keys);
    const MessageInfo& info() const noexcept { return info_; }

private:
    BodyReader(Dbi dbi, MailboxRef box, MessageInfo info) : dbi_(dbi), box_(box), info_(std::move(info)) {}
    Dbi dbi_;
    MailboxRef box_;
    MessageInfo info_;
    std::uint32_t chunk_ = 0;
    std::uint64_t bytes_read_ = 0;
    std::optional<crypto::StreamOpener> stream_;  // the body's data key, for a body sealed as one stream
};

// ---- Writing in one WriteTxn (the writer; the caller commits) ----------------------------------
// over_quota (nothing written) when live bytes + body would pass the quota; invalid_request for a
// body over body_chunks_max chunks or ids exhausted.
Result<std::uint64_t> append(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                             std::span<const std::uint8_t> body, const AppendOptions& options);
// Live -> trash with the deletion time; invalid_request when not live, not_found when absent.
Result<void> move_to_trash(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                           std::uint64_t id, std::int64_t now_unix);
// Trash -> live; invalid_request when not in trash.
Result<void> restore(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box, std::uint64_t id);
// Removes (metadata and every chunk) up to `messages_max` messages that went to trash at least
// retention_s ago; returns how many. Call again while it returns messages_max.
Result<std::size_t> purge(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                          std::int64_t now_unix, std::int64_t retention_s = trash_retention_default_s,
                          std::size_t messages_max = 4096);

// ---- Writing through the store lane ------------------------------------------------------------
// The shard keeps one MailboxWriter per mailbox it writes. Each change yields the WriteOps of one
// WriteRequest (sealed values and the new mailbox state); the writer then refuses further changes
// (busy) until the caller reports the lane's outcome with done(). Success makes the change the
// writer's state; failure forgets it (the lane reports failure only when nothing was committed, so
// the next append may take the same id). One change in flight per mailbox keeps the state record
// consistent even when the lane commits a batch one request at a time; other mailboxes still share
// the lane's group commit. Appends are the exception: further appends may follow a pending append,
// each planned on the state the previous one left, when the caller puts all their ops in ONE
// WriteRequest (so they commit or fail together, and done() reports them all).
// Every change that writes the state record starts with a guard (WriteOpKind::expect) that the
// record still holds what this writer last saw: on one box that always holds; in a store shared by
// nodes, another node's change to the same mailbox in between fails this one with conflict, and the
// caller loads a new writer and tries again, so neither change is lost.
struct MailboxChange {
    std::uint64_t id = 0;         // the message the change is about (purge: the first purged)
    std::size_t purged = 0;       // purge, erase: messages removed
    std::uint64_t remaining = 0;  // erase: messages still in the mailbox after it
    std::vector<WriteOp> ops;     // for WriteRequest::ops, in order
};

class MailboxWriter {
public:
    // One writer per mailbox, on the shard that owns the segment; `txn` must see every committed
    // change of the mailbox (no change of it in flight).
    static Result<MailboxWriter> load(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box);

    // While appends are pending (and nothing else), another append chains on them (see above).
    Result<MailboxChange> append(const crypto::KeySet& keys, std::span<const std::uint8_t> body,
                                 const AppendOptions& options);
    // `txn` reads the message's current metadata: begin (or renew) it after the last done(), so it
    // sees every change this writer made.
    Result<MailboxChange> move_to_trash(ReadTxn& txn, const crypto::KeySet& keys, std::uint64_t id,
                                        std::int64_t now_unix);
    Result<MailboxChange> restore(ReadTxn& txn, const crypto::KeySet& keys, std::uint64_t id);
    // As purge(WriteTxn&, ...) above; a purge with nothing to remove has no ops and leaves nothing
    // pending.
    Result<MailboxChange> purge(ReadTxn& txn, const crypto::KeySet& keys, std::int64_t now_unix,
                                std::int64_t retention_s = trash_retention_default_s,
                                std::size_t messages_max = 4096);
    // A closed account's purge: removes up to messages_max messages, live or in trash, in id order;
    // the change that leaves none also erases the state record, so nothing of the mailbox remains
    // (remaining says how many are left). A mailbox with nothing stored has no ops.
    Result<MailboxChange> erase(ReadTxn& txn, const crypto::KeySet& keys, std::size_t messages_max);
    // The lane's outcome of the pending change.
    void done(std::error_code error) noexcept;

    bool pending() const noexcept { return pending_.has_value(); }
    const MailboxState& state() const noexcept { return state_; }

private:
    MailboxWriter(Dbi dbi, MailboxRef box, MailboxState state, std::vector<std::uint8_t> stored)
        : dbi_(dbi), box_(box), state_(state), stored_(std::move(stored)) {}
    // Puts the guard in front of a change that writes the state record.
    void guard(MailboxChange& change);
    Dbi dbi_;
    MailboxRef box_;
    MailboxState state_;
    std::vector<std::uint8_t> stored_;                          // the state record's sealed bytes (empty: none)
    std::optional<std::vector<std::uint8_t>> pending_stored_;  // what the pending change writes there
    std::optional<MailboxState> pending_;
    bool pending_appends_only_ = false;
};

}  // namespace vmx::store
