#include "store/mailbox.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "crypto/random.h"
#include "store/codec.h"
#include "store/errc.h"
#include "store/record_key.h"

namespace vmx::store {
namespace {

constexpr std::uint8_t part_body = 0;
constexpr std::uint8_t part_meta = 1;
constexpr std::uint8_t part_state = 15;
constexpr std::uint64_t chunk_space = std::uint64_t{1} << 59;  // top bit of the 60-bit object id
constexpr std::uint8_t meta_format = 1;
constexpr std::uint8_t state_format = 1;
constexpr std::size_t uidl_bytes_max = 70;  // RFC 1939

constexpr std::uint64_t state_record() noexcept { return record_of(0, part_state); }
constexpr std::uint64_t meta_record(std::uint64_t id) noexcept { return record_of(id, part_meta); }
constexpr std::uint64_t chunk_record(std::uint64_t id, std::uint32_t chunk) noexcept {
    return record_of(chunk_space | id << 16 | chunk, part_body);
}

RecordKeyBytes key_of(const MailboxRef& box, std::uint64_t record) noexcept {
    return encode_record_key(RecordKey{box.user_id, record});
}
crypto::RecordIdentity identity(const MailboxRef& box, std::uint64_t record) noexcept {
    return identity_of(crypto::StoreKind::mail, box.segment, RecordKey{box.user_id, record});
}

std::uint32_t chunks_for(std::uint64_t size) noexcept {
    return static_cast<std::uint32_t>((size + body_chunk_bytes - 1) / body_chunk_bytes);
}

std::string uidl_of(std::uint32_t prefix, std::uint64_t id) { return fmt::format("{:08x}{:010x}", prefix, id); }

// ---- Little-endian encodings of the sealed plaintexts -------------------------------------------

class Writer {
public:
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u32(std::uint32_t v) { for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i))); }
    void u64(std::uint64_t v) { for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i))); }
    void bytes(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
    std::vector<std::uint8_t>& out() { return out_; }

private:
    std::vector<std::uint8_t> out_;
};

class Reader {
public:
    explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
    bool u8(std::uint8_t& v) { return take(1, [&](const std::uint8_t* p) { v = p[0]; }); }
    bool u32(std::uint32_t& v) {
        return take(4, [&](const std::uint8_t* p) { v = 0; for (int i = 3; i >= 0; --i) v = v << 8 | p[i]; });
    }
    bool u64(std::uint64_t& v) {
        return take(8, [&](const std::uint8_t* p) { v = 0; for (int i = 7; i >= 0; --i) v = v << 8 | p[i]; });
    }
    bool str(std::size_t n, std::string& s) {
        return take(n, [&](const std::uint8_t* p) { s.assign(reinterpret_cast<const char*>(p), n); });
    }
    bool at_end() const noexcept { return pos_ == in_.size(); }

private:
    template <class Fn>
    bool take(std::size_t n, Fn&& fn) {
        if (in_.size() - pos_ < n) return false;
        fn(in_.data() + pos_);
        pos_ += n;
        return true;
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
};

std::vector<std::uint8_t> encode_state(const MailboxState& s) {
    Writer w;
    w.u8(state_format);
    w.u8(0);
    w.u8(0);
    w.u8(0);
    w.u32(s.uidl_prefix);
    w.u64(s.next_id);
    w.u64(s.live_count);
    w.u64(s.live_bytes);
    w.u64(s.trash_count);
    w.u64(s.trash_bytes);
    return std::move(w.out());
}

Result<MailboxState> decode_state(std::span<const std::uint8_t> in) {
    Reader r(in);
    MailboxState s;
    std::uint8_t format = 0, pad[3] = {};
    bool ok = r.u8(format) && r.u8(pad[0]) && r.u8(pad[1]) && r.u8(pad[2]) && r.u32(s.uidl_prefix) &&
              r.u64(s.next_id) && r.u64(s.live_count) && r.u64(s.live_bytes) && r.u64(s.trash_count) &&
              r.u64(s.trash_bytes) && r.at_end();
    if (!ok || format != state_format || pad[0] || pad[1] || pad[2] || s.next_id == 0) return fail(StoreErrc::corrupt);
    s.exists = true;
    return s;
}

std::vector<std::uint8_t> encode_meta(const MessageInfo& m) {
    Writer w;
    w.u8(meta_format);
    w.u8(static_cast<std::uint8_t>(m.state));
    w.u8(0);
    w.u8(0);
    w.u32(m.chunks);
    w.u64(m.size_bytes);
    w.u64(static_cast<std::uint64_t>(m.arrival_unix));
    w.u64(static_cast<std::uint64_t>(m.deleted_unix));
    w.u8(static_cast<std::uint8_t>(m.uidl.size()));
    w.bytes(m.uidl);
    return std::move(w.out());
}

Result<MessageInfo> decode_meta(std::span<const std::uint8_t> in, std::uint64_t id) {
    Reader r(in);
    MessageInfo m;
    m.id = id;
    std::uint8_t format = 0, state = 0, pad0 = 0, pad1 = 0, uidl_len = 0;
    std::uint64_t arrival = 0, deleted = 0;
    bool ok = r.u8(format) && r.u8(state) && r.u8(pad0) && r.u8(pad1) && r.u32(m.chunks) && r.u64(m.size_bytes) &&
              r.u64(arrival) && r.u64(deleted) && r.u8(uidl_len) && uidl_len <= uidl_bytes_max &&
              r.str(uidl_len, m.uidl) && r.at_end();
    ok = ok && format == meta_format && pad0 == 0 && pad1 == 0 && m.chunks == chunks_for(m.size_bytes) &&
         m.chunks <= body_chunks_max &&
         (state == static_cast<std::uint8_t>(MessageState::live) || state == static_cast<std::uint8_t>(MessageState::trash));
    if (!ok) return fail(StoreErrc::corrupt);
    m.state = static_cast<MessageState>(state);
    m.arrival_unix = static_cast<std::int64_t>(arrival);
    m.deleted_unix = static_cast<std::int64_t>(deleted);
    return m;
}

// ---- Reads shared by ReadTxn and WriteTxn --------------------------------------------------------

template <class Txn>
Result<std::optional<std::vector<std::uint8_t>>> get_open(Txn& txn, Dbi dbi, const crypto::KeySet& keys,
                                                          const MailboxRef& box, std::uint64_t record) {
    const RecordKeyBytes key = key_of(box, record);
    auto value = txn.get(dbi, key);
    if (!value) {
        if (value.error() == StoreErrc::not_found) return std::optional<std::vector<std::uint8_t>>{};
        return fail(value.error());
    }
    auto plain = open_value(keys, identity(box, record), *value);
    if (!plain) return fail(plain.error());
    return std::optional<std::vector<std::uint8_t>>(std::move(*plain));
}

template <class Txn>
Result<MailboxState> load_state_in(Txn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box) {
    auto plain = get_open(txn, dbi, keys, box, state_record());
    if (!plain) return fail(plain.error());
    if (!*plain) return MailboxState{};
    return decode_state(**plain);
}

template <class Txn>
Result<MessageInfo> info_in(Txn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box, std::uint64_t id) {
    if (id == 0 || id > message_id_max) return fail(StoreErrc::not_found);
    auto plain = get_open(txn, dbi, keys, box, meta_record(id));
    if (!plain) return fail(plain.error());
    if (!*plain) return fail(StoreErrc::not_found);
    return decode_meta(**plain, id);
}

// Calls fn(MessageInfo&&) for every message's metadata in id order until fn returns false.
template <class Txn, class Fn>
Result<void> walk_meta(Txn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box, Fn&& fn) {
    auto cursor = Cursor::open(txn, dbi);
    if (!cursor) return fail(cursor.error());
    const RecordKeyBytes start = key_of(box, record_of(1, 0));
    for (auto e = cursor->seek(start);; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e) return {};
        const auto k = decode_record_key((*e)->key);
        if (!k || k->owner != box.user_id) return {};
        if (object_of(k->record) >= chunk_space) return {};
        if ((*e)->key.size() != record_key_bytes) return fail(StoreErrc::corrupt);
        if (part_of(k->record) != part_meta) continue;
        auto plain = open_value(keys, identity(box, k->record), (*e)->value);
        if (!plain) return fail(plain.error());
        auto info = decode_meta(*plain, object_of(k->record));
        if (!info) return fail(info.error());
        if (!fn(std::move(*info))) return {};
    }
}

// ---- Changes as WriteOps ---------------------------------------------------------------------

Result<void> add_put(MailboxChange& change, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                     std::uint64_t record, std::span<const std::uint8_t> plain, Compress compress) {
    auto sealed = seal_value(keys, box.scope, identity(box, record), plain, compress);
    if (!sealed) return fail(sealed.error());
    const RecordKeyBytes key = key_of(box, record);
    change.ops.push_back(WriteOp{WriteOpKind::put, dbi, {key.begin(), key.end()}, std::move(*sealed)});
    return {};
}

void add_erase(MailboxChange& change, Dbi dbi, const MailboxRef& box, std::uint64_t record) {
    const RecordKeyBytes key = key_of(box, record);
    change.ops.push_back(WriteOp{WriteOpKind::erase, dbi, {key.begin(), key.end()}, {}});
}

Result<MailboxState> fresh_state() {
    MailboxState s;
    std::array<std::uint8_t, 4> r{};
    if (auto ok = crypto::random_bytes(r); !ok) return fail(ok.error());
    s.uidl_prefix = std::uint32_t{r[0]} | std::uint32_t{r[1]} << 8 | std::uint32_t{r[2]} << 16 | std::uint32_t{r[3]} << 24;
    return s;
}

Result<MailboxChange> plan_append(Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box, MailboxState& state,
                                  std::span<const std::uint8_t> body, const AppendOptions& options) {
    if (state.next_id > message_id_max) return fail(StoreErrc::invalid_request);
    if (body.size() > std::uint64_t{body_chunks_max} * body_chunk_bytes) return fail(StoreErrc::invalid_request);
    if (options.quota_bytes != 0 &&
        (state.live_bytes > options.quota_bytes || body.size() > options.quota_bytes - state.live_bytes))
        return fail(StoreErrc::over_quota);
    MailboxChange change;
    change.id = state.next_id;
    MessageInfo info;
    info.id = change.id;
    info.size_bytes = body.size();
    info.arrival_unix = options.now_unix;
    info.chunks = chunks_for(body.size());
    info.uidl = uidl_of(state.uidl_prefix, change.id);
    change.ops.reserve(info.chunks + 2);
    if (info.chunks > 0) {
        // One data key for the whole body: its chunks are one stream named by chunk 0's record.
        auto sealer = keys.begin_stream(box.scope, identity(box, chunk_record(change.id, 0)));
        if (!sealer) return fail(sealer.error());
        for (std::uint32_t c = 0; c < info.chunks; ++c) {
            const auto piece = body.subspan(std::size_t{c} * body_chunk_bytes,
                                            std::min(body_chunk_bytes, body.size() - std::size_t{c} * body_chunk_bytes));
            auto sealed = seal_chunk(*sealer, piece, Compress::if_smaller, c + 1 == info.chunks);
            if (!sealed) return fail(sealed.error());
            const RecordKeyBytes key = key_of(box, chunk_record(change.id, c));
            change.ops.push_back(WriteOp{WriteOpKind::put, dbi, {key.begin(), key.end()}, std::move(*sealed)});
        }
    }
    if (auto ok = add_put(change, dbi, keys, box, meta_record(change.id), encode_meta(info), Compress::never); !ok)
        return fail(ok.error());
    state.exists = true;
    state.next_id += 1;
    state.live_count += 1;
    state.live_bytes += body.size();
    if (auto ok = add_put(change, dbi, keys, box, state_record(), encode_state(state), Compress::never); !ok)
        return fail(ok.error());
    return change;
}

// live <-> trash: the metadata and the state record.
Result<MailboxChange> plan_move(Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box, MailboxState& state,
                                MessageInfo info, MessageState to, std::int64_t now_unix) {
    if (info.state == to) return fail(StoreErrc::invalid_request);
    const std::uint64_t size = info.size_bytes;
    if (to == MessageState::trash) {
        if (state.live_count == 0 || state.live_bytes < size) return fail(StoreErrc::corrupt);
        state.live_count -= 1, state.live_bytes -= size, state.trash_count += 1, state.trash_bytes += size;
        info.deleted_unix = now_unix;
    } else {
        if (state.trash_count == 0 || state.trash_bytes < size) return fail(StoreErrc::corrupt);
        state.trash_count -= 1, state.trash_bytes -= size, state.live_count += 1, state.live_bytes += size;
        info.deleted_unix = 0;
    }
    info.state = to;
    MailboxChange change;
    change.id = info.id;
    if (auto ok = add_put(change, dbi, keys, box, meta_record(info.id), encode_meta(info), Compress::never); !ok)
        return fail(ok.error());
    if (auto ok = add_put(change, dbi, keys, box, state_record(), encode_state(state), Compress::never); !ok)
        return fail(ok.error());
    return change;
}

Result<void> apply_ops(WriteTxn& txn, const std::vector<WriteOp>& ops) {
    for (const WriteOp& op : ops) {
        if (op.kind == WriteOpKind::put) {
            if (auto ok = txn.put(op.dbi, op.key, op.value); !ok) return ok;
        } else if (auto erased = txn.erase(op.dbi, op.key); !erased) {
            return fail(erased.error());
        }
    }
    return {};
}

template <class Txn>
Result<MailboxChange> move_in(Txn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                              MailboxState& state, std::uint64_t id, MessageState to, std::int64_t now_unix) {
    auto info = info_in(txn, dbi, keys, box, id);
    if (!info) return fail(info.error());
    return plan_move(dbi, keys, box, state, std::move(*info), to, now_unix);
}

// Erases up to messages_max messages that went to trash at least retention_s before now_unix.
template <class Txn>
Result<MailboxChange> plan_purge(Txn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                                 MailboxState& state, std::int64_t now_unix, std::int64_t retention_s,
                                 std::size_t messages_max) {
    std::vector<MessageInfo> expired;
    auto walked = walk_meta(txn, dbi, keys, box, [&](MessageInfo&& info) {
        if (info.state == MessageState::trash && now_unix - info.deleted_unix >= retention_s)
            expired.push_back(std::move(info));
        return expired.size() < messages_max;
    });
    if (!walked) return fail(walked.error());
    MailboxChange change;
    if (expired.empty()) return change;
    for (const MessageInfo& info : expired) {
        if (state.trash_count == 0 || state.trash_bytes < info.size_bytes) return fail(StoreErrc::corrupt);
        state.trash_count -= 1;
        state.trash_bytes -= info.size_bytes;
        for (std::uint32_t c = 0; c < info.chunks; ++c) add_erase(change, dbi, box, chunk_record(info.id, c));
        add_erase(change, dbi, box, meta_record(info.id));
    }
    if (auto ok = add_put(change, dbi, keys, box, state_record(), encode_state(state), Compress::never); !ok)
        return fail(ok.error());
    change.id = expired.front().id;
    change.purged = expired.size();
    return change;
}

// Erases up to messages_max messages whatever their state; the state record goes with the last.
template <class Txn>
Result<MailboxChange> plan_erase(Txn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                                 MailboxState& state, std::size_t messages_max) {
    std::vector<MessageInfo> doomed;
    auto walked = walk_meta(txn, dbi, keys, box, [&](MessageInfo&& info) {
        doomed.push_back(std::move(info));
        return doomed.size() < messages_max;
    });
    if (!walked) return fail(walked.error());
    MailboxChange change;
    if (doomed.empty() && !state.exists) return change;
    for (const MessageInfo& info : doomed) {
        const bool live = info.state == MessageState::live;
        std::uint64_t& count = live ? state.live_count : state.trash_count;
        std::uint64_t& bytes = live ? state.live_bytes : state.trash_bytes;
        if (count == 0 || bytes < info.size_bytes) return fail(StoreErrc::corrupt);
        count -= 1;
        bytes -= info.size_bytes;
        for (std::uint32_t c = 0; c < info.chunks; ++c) add_erase(change, dbi, box, chunk_record(info.id, c));
        add_erase(change, dbi, box, meta_record(info.id));
    }
    change.remaining = state.live_count + state.trash_count;
    if (change.remaining == 0) {
        add_erase(change, dbi, box, state_record());
        state = MailboxState{};
    } else if (auto ok = add_put(change, dbi, keys, box, state_record(), encode_state(state), Compress::never); !ok) {
        return fail(ok.error());
    }
    change.id = doomed.empty() ? 0 : doomed.front().id;
    change.purged = doomed.size();
    return change;
}

}  // namespace

Result<Dbi> open_mailbox_dbi(Env& env) { return env.open_dbi(mail_dbi_name); }

Result<MailboxState> load_state(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box) {
    return load_state_in(txn, dbi, keys, box);
}
Result<MailboxState> load_state(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box) {
    return load_state_in(txn, dbi, keys, box);
}

Result<MessageInfo> message_info(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                                 std::uint64_t id) {
    return info_in(txn, dbi, keys, box, id);
}

Result<std::vector<MessageInfo>> list_messages(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys,
                                               const MailboxRef& box, ListTrash trash) {
    std::vector<MessageInfo> out;
    auto ok = walk_meta(txn, dbi, keys, box, [&](MessageInfo&& info) {
        if (info.state == MessageState::live || trash == ListTrash::include) out.push_back(std::move(info));
        return true;
    });
    if (!ok) return fail(ok.error());
    return out;
}

Result<BodyReader> BodyReader::open(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                                    std::uint64_t id) {
    auto info = info_in(txn, dbi, keys, box, id);
    if (!info) return fail(info.error());
    return BodyReader(dbi, box, std::move(*info));
}

Result<std::optional<std::vector<std::uint8_t>>> BodyReader::next(ReadTxn& txn, const crypto::KeySet& keys) {
    using Chunk = std::optional<std::vector<std::uint8_t>>;
    if (chunk_ == info_.chunks) return Chunk{};
    const std::uint64_t record = chunk_record(info_.id, chunk_);
    const RecordKeyBytes key = key_of(box_, record);
    auto value = txn.get(dbi_, key);
    if (!value) return fail(value.error() == StoreErrc::not_found ? StoreErrc::corrupt : value.error());
    if (chunk_ == 0) {
        // A body written today is one stream (a head that is not final, when it has several chunks);
        // one written by an older build has a record per chunk, each under its own identity.
        auto shape = crypto::peek_shape(*value);
        if (shape && shape->version == 2 && shape->head && !shape->final) {
            auto opener = keys.open_stream(identity(box_, record), *value);
            if (!opener) return fail(opener.error());
            stream_.emplace(std::move(*opener));
        }
    }
    auto plain = stream_ ? open_chunk(*stream_, *value) : open_value(keys, identity(box_, record), *value);
    if (!plain) return fail(plain.error());
    const std::uint64_t left = info_.size_bytes - bytes_read_;
    const std::uint64_t expected = left < body_chunk_bytes ? left : body_chunk_bytes;
    if (plain->size() != expected) return fail(StoreErrc::corrupt);
    chunk_ += 1;
    bytes_read_ += expected;
    // The metadata's last chunk must be the stream's final one (a stream cut short, or one that
    // claims to end early, is corrupt either way).
    if (stream_ && (chunk_ == info_.chunks) != stream_->finished()) return fail(StoreErrc::corrupt);
    return Chunk(std::move(*plain));
}

Result<std::uint64_t> append(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                             std::span<const std::uint8_t> body, const AppendOptions& options) {
    auto state = load_state_in(txn, dbi, keys, box);
    if (!state) return fail(state.error());
    if (!state->exists) {
        state = fresh_state();
        if (!state) return fail(state.error());
    }
    auto change = plan_append(dbi, keys, box, *state, body, options);
    if (!change) return fail(change.error());
    if (auto ok = apply_ops(txn, change->ops); !ok) return fail(ok.error());
    return change->id;
}

Result<void> move_to_trash(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                           std::uint64_t id, std::int64_t now_unix) {
    auto state = load_state_in(txn, dbi, keys, box);
    if (!state) return fail(state.error());
    auto change = move_in(txn, dbi, keys, box, *state, id, MessageState::trash, now_unix);
    if (!change) return fail(change.error());
    return apply_ops(txn, change->ops);
}

Result<void> restore(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box, std::uint64_t id) {
    auto state = load_state_in(txn, dbi, keys, box);
    if (!state) return fail(state.error());
    auto change = move_in(txn, dbi, keys, box, *state, id, MessageState::live, 0);
    if (!change) return fail(change.error());
    return apply_ops(txn, change->ops);
}

Result<std::size_t> purge(WriteTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box,
                          std::int64_t now_unix, std::int64_t retention_s, std::size_t messages_max) {
    auto state = load_state_in(txn, dbi, keys, box);
    if (!state) return fail(state.error());
    auto change = plan_purge(txn, dbi, keys, box, *state, now_unix, retention_s, messages_max);
    if (!change) return fail(change.error());
    if (auto ok = apply_ops(txn, change->ops); !ok) return fail(ok.error());
    return change->purged;
}

// ---- MailboxWriter ------------------------------------------------------------------------------

Result<MailboxWriter> MailboxWriter::load(ReadTxn& txn, Dbi dbi, const crypto::KeySet& keys, const MailboxRef& box) {
    const RecordKeyBytes state_key = key_of(box, state_record());
    std::vector<std::uint8_t> stored;
    if (auto raw = txn.get(dbi, state_key); raw) stored.assign(raw->begin(), raw->end());
    else if (raw.error() != StoreErrc::not_found) return fail(raw.error());
    auto state = load_state_in(txn, dbi, keys, box);
    if (!state) return fail(state.error());
    if (!state->exists) {
        state = fresh_state();
        if (!state) return fail(state.error());
    }
    return MailboxWriter(dbi, box, *state, std::move(stored));
}

void MailboxWriter::guard(MailboxChange& change) {
    const RecordKeyBytes key = key_of(box_, state_record());
    std::optional<std::vector<std::uint8_t>> written;
    for (const WriteOp& op : change.ops)
        if (op.dbi.id == dbi_.id && std::equal(op.key.begin(), op.key.end(), key.begin(), key.end()))
            written = op.kind == WriteOpKind::put ? op.value : std::vector<std::uint8_t>{};
    if (!written) return;
    WriteOp expect;
    expect.kind = WriteOpKind::expect;
    expect.dbi = dbi_;
    expect.key.assign(key.begin(), key.end());
    expect.value = pending_stored_ ? *pending_stored_ : stored_;
    change.ops.insert(change.ops.begin(), std::move(expect));
    pending_stored_ = std::move(*written);
}

Result<MailboxChange> MailboxWriter::append(const crypto::KeySet& keys, std::span<const std::uint8_t> body,
                                            const AppendOptions& options) {
    if (pending_ && !pending_appends_only_) return fail(StoreErrc::busy);
    MailboxState next = pending_ ? *pending_ : state_;
    auto change = plan_append(dbi_, keys, box_, next, body, options);
    if (change) {
        pending_appends_only_ = true;  // no pending change, or only appends: still only appends
        pending_ = next;
        guard(*change);
    }
    return change;
}

Result<MailboxChange> MailboxWriter::move_to_trash(ReadTxn& txn, const crypto::KeySet& keys, std::uint64_t id,
                                                   std::int64_t now_unix) {
    if (pending_) return fail(StoreErrc::busy);
    MailboxState next = state_;
    auto change = move_in(txn, dbi_, keys, box_, next, id, MessageState::trash, now_unix);
    if (change) {
        pending_ = next;
        guard(*change);
    }
    return change;
}

Result<MailboxChange> MailboxWriter::restore(ReadTxn& txn, const crypto::KeySet& keys, std::uint64_t id) {
    if (pending_) return fail(StoreErrc::busy);
    MailboxState next = state_;
    auto change = move_in(txn, dbi_, keys, box_, next, id, MessageState::live, 0);
    if (change) {
        pending_ = next;
        guard(*change);
    }
    return change;
}

Result<MailboxChange> MailboxWriter::purge(ReadTxn& txn, const crypto::KeySet& keys, std::int64_t now_unix,
                                          std::int64_t retention_s, std::size_t messages_max) {
    if (pending_) return fail(StoreErrc::busy);
    MailboxState next = state_;
    auto change = plan_purge(txn, dbi_, keys, box_, next, now_unix, retention_s, messages_max);
    if (change && !change->ops.empty()) {
        pending_ = next;
        guard(*change);
    }
    return change;
}

Result<MailboxChange> MailboxWriter::erase(ReadTxn& txn, const crypto::KeySet& keys, std::size_t messages_max) {
    if (pending_) return fail(StoreErrc::busy);
    MailboxState next = state_;
    auto change = plan_erase(txn, dbi_, keys, box_, next, messages_max);
    if (change && !change->ops.empty()) {
        pending_ = next;
        guard(*change);
    }
    return change;
}

void MailboxWriter::done(std::error_code error) noexcept {
    if (pending_ && !error) {
        state_ = *pending_;
        if (pending_stored_) stored_ = std::move(*pending_stored_);
    }
    pending_.reset();
    pending_stored_.reset();
    pending_appends_only_ = false;
}

}  // namespace vmx::store
