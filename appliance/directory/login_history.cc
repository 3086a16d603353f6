// Login history (see login_history.h).
#include "appliance/directory/login_history.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "appliance/directory/directory.h"
#include "core/byte_codec.h"
#include "crypto/random.h"
#include "store/codec.h"

namespace vmx {
namespace {

constexpr std::uint8_t entry_version = 1;          // a login
constexpr std::uint8_t entry_version_note = 2;     // a support reveal: the support values and a note
constexpr std::size_t key_bytes = 20;

using Key = std::array<std::uint8_t, key_bytes>;

void put_be(std::uint8_t* out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
}
std::uint64_t get_be(const std::uint8_t* in, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | in[i];
    return v;
}

Key make_key(std::uint64_t user, std::int64_t time, std::uint32_t sequence) {
    Key k{};
    put_be(k.data(), user, 8);
    put_be(k.data() + 8, static_cast<std::uint64_t>(std::max<std::int64_t>(time, 0)), 8);
    put_be(k.data() + 16, sequence, 4);
    return k;
}

crypto::RecordIdentity identity_of(std::span<const std::uint8_t> key) {
    crypto::RecordIdentity id;
    id.store = crypto::StoreKind::directory;
    id.segment = 0;
    id.mailbox = get_be(key.data(), 8);
    id.record_id = (get_be(key.data() + 8, 8) << 20) | (get_be(key.data() + 16, 4) & 0xfffff);
    return id;
}

std::string clean(std::string_view s, std::size_t bytes_max = login_field_bytes_max) {
    std::string out(s.substr(0, bytes_max));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return out;
}

// What clean() leaves: a stored field with a control character was not written by append().
bool is_clean(const std::optional<std::string>& s) {
    return s && std::none_of(s->begin(), s->end(),
                             [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// Version 2 is written only for what version 1 cannot hold, so each entry has one encoding.
bool needs_version_note(LoginResult result, LoginMethod method, std::string_view note) {
    return result == LoginResult::support_reveal || method >= LoginMethod::support || !note.empty();
}

}  // namespace

std::optional<crypto::RecordIdentity> stored_login_identity(std::span<const std::uint8_t> key) {
    if (key.size() != std::tuple_size_v<Key>) return std::nullopt;
    return identity_of(key);
}

std::vector<std::uint8_t> encode_login_event(const LoginEvent& e) {
    const bool reveal = needs_version_note(e.result, e.method, e.note);
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(reveal ? entry_version_note : entry_version);
    w.i64(e.time_unix);
    w.u8(static_cast<std::uint8_t>(e.result));
    w.u8(static_cast<std::uint8_t>(e.reason));
    w.u8(static_cast<std::uint8_t>(e.method));
    w.str(clean(e.protocol));
    w.str(clean(e.client_ip));
    w.str(clean(e.tls_version));
    if (reveal) w.str(clean(e.note, login_note_bytes_max));
    return out;
}

std::optional<LoginEvent> decode_login_event(std::span<const std::uint8_t> b, std::uint64_t user) {
    ByteReader r(b);
    auto version = r.u8();
    auto time = r.i64();
    auto result = r.u8();
    auto reason = r.u8();
    auto method = r.u8();
    auto protocol = r.str(login_field_bytes_max);
    auto ip = r.str(login_field_bytes_max);
    auto tls = r.str(login_field_bytes_max);
    if (!version || (*version != entry_version && *version != entry_version_note)) return std::nullopt;
    // Version 1 holds logins only; version 2 may hold the support values too.
    const std::uint8_t highest_result = *version == entry_version ? 2 : 3;
    const std::uint8_t highest_method = *version == entry_version ? 2 : 5;
    std::optional<std::string> note = std::string();
    if (*version == entry_version_note) note = r.str(login_note_bytes_max);
    if (!time || !result || *result < 1 || *result > highest_result || !reason || *reason > 7 || !method || *method < 1 ||
        *method > highest_method || !is_clean(protocol) || !is_clean(ip) || !is_clean(tls) || !is_clean(note) || !r.at_end())
        return std::nullopt;
    if (*version == entry_version_note &&
        !needs_version_note(static_cast<LoginResult>(*result), static_cast<LoginMethod>(*method), *note))
        return std::nullopt;
    return LoginEvent{user,
                      *time,
                      static_cast<LoginResult>(*result),
                      static_cast<LoginFailure>(*reason),
                      static_cast<LoginMethod>(*method),
                      std::move(*protocol),
                      std::move(*ip),
                      std::move(*tls),
                      std::move(*note)};
}

std::string_view name_of(LoginResult r) noexcept {
    switch (r) {
        case LoginResult::success: return "success";
        case LoginResult::failure: return "failure";
        case LoginResult::support_reveal: return "support_reveal";
    }
    return "unknown";
}

std::string_view name_of(LoginFailure f) noexcept {
    switch (f) {
        case LoginFailure::none: return "none";
        case LoginFailure::bad_credentials: return "bad_credentials";
        case LoginFailure::account_disabled: return "account_disabled";
        case LoginFailure::network_not_allowed: return "network_not_allowed";
        case LoginFailure::mfa_required: return "mfa_required";
        case LoginFailure::throttled: return "throttled";
        case LoginFailure::temporary: return "temporary";
        case LoginFailure::account_closed: return "account_closed";
    }
    return "unknown";
}

std::string_view name_of(LoginMethod m) noexcept {
    switch (m) {
        case LoginMethod::password: return "password";
        case LoginMethod::app_password: return "app_password";
        case LoginMethod::support: return "support";
        case LoginMethod::totp: return "totp";
        case LoginMethod::security_key: return "security_key";
    }
    return "unknown";
}

Result<LoginHistory> LoginHistory::open(store::Env& directory_env) {
    auto dbi = directory_env.open_dbi("logins");
    if (!dbi) return fail(dbi.error());
    LoginHistory history(directory_env, *dbi);
    // A random first sequence: nodes sharing one directory record the same user in the same second
    // under different keys (a counter from 0 on each would overwrite the other's entries).
    std::array<std::uint8_t, 4> start{};
    if (auto r = crypto::random_bytes(start); !r) return fail(r.error());
    std::memcpy(&history.sequence_, start.data(), start.size());
    return history;
}

Result<void> LoginHistory::append(const crypto::KeySet& keys, const std::vector<LoginEvent>& events) {
    if (events.empty()) return {};
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    for (const LoginEvent& e : events) {
        const Key key = make_key(e.user_id, e.time_unix, sequence_++);
        auto sealed =
            store::seal_value(keys, appliance_scope, identity_of(key), encode_login_event(e), store::Compress::never);
        if (!sealed) return fail(sealed.error());
        if (auto r = txn->put(dbi_, key, *sealed); !r) return r;
    }
    return txn->commit();
}

Result<std::vector<LoginEvent>> LoginHistory::read(store::ReadTxn& txn, const crypto::KeySet& keys,
                                                   std::uint64_t user_id, std::int64_t since_unix, bool failed_only,
                                                   std::size_t limit) const {
    std::vector<LoginEvent> out;
    auto cursor = store::Cursor::open(txn, dbi_);
    if (!cursor) return fail(cursor.error());
    const Key start = make_key(user_id, since_unix, 0);
    for (auto e = cursor->seek(start);; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e || (*e)->key.size() != key_bytes || get_be((*e)->key.data(), 8) != user_id) break;
        auto plain = store::open_value(keys, identity_of((*e)->key), (*e)->value);
        if (!plain) return fail(plain.error());
        auto event = decode_login_event(*plain, user_id);
        if (!event) return fail(std::make_error_code(std::errc::bad_message));
        if (failed_only && event->result != LoginResult::failure) continue;
        out.push_back(std::move(*event));
        if (out.size() > limit) out.erase(out.begin());
    }
    return out;
}

Result<std::size_t> LoginHistory::purge_before(std::int64_t cutoff_unix, std::size_t max) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    std::vector<std::vector<std::uint8_t>> doomed;
    {
        auto cursor = store::Cursor::open(*txn, dbi_);
        if (!cursor) return fail(cursor.error());
        // Per user: delete from the oldest while older than the cutoff, then jump to the next user,
        // so a pass costs one seek per user plus the entries it removes.
        auto e = cursor->first();
        while (doomed.size() < max) {
            if (!e) return fail(e.error());
            if (!*e || (*e)->key.size() != key_bytes) break;
            const std::uint64_t user = get_be((*e)->key.data(), 8);
            if (static_cast<std::int64_t>(get_be((*e)->key.data() + 8, 8)) < cutoff_unix) {
                doomed.emplace_back((*e)->key.begin(), (*e)->key.end());
                e = cursor->next();
            } else {
                if (user == UINT64_MAX) break;
                const Key next_user = make_key(user + 1, 0, 0);
                e = cursor->seek(next_user);
            }
        }
    }
    for (const auto& k : doomed)
        if (auto r = txn->erase(dbi_, k); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return doomed.size();
}

Result<std::size_t> LoginHistory::erase_user(std::uint64_t user_id, std::size_t max) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    std::vector<std::vector<std::uint8_t>> doomed;
    {
        auto cursor = store::Cursor::open(*txn, dbi_);
        if (!cursor) return fail(cursor.error());
        const Key start = make_key(user_id, 0, 0);  // make_key keeps times at 0 and above
        for (auto e = cursor->seek(start); doomed.size() < max; e = cursor->next()) {
            if (!e) return fail(e.error());
            if (!*e || (*e)->key.size() != key_bytes || get_be((*e)->key.data(), 8) != user_id) break;
            doomed.emplace_back((*e)->key.begin(), (*e)->key.end());
        }
    }
    for (const auto& k : doomed)
        if (auto r = txn->erase(dbi_, k); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return doomed.size();
}

}  // namespace vmx
