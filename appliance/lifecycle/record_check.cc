// Opening every sealed record of an environment (see record_check.h).
#include "appliance/lifecycle/record_check.h"

#include <fmt/format.h>

#include <functional>
#include <optional>

#include "appliance/directory/ban_records.h"
#include "appliance/directory/directory.h"
#include "appliance/directory/login_history.h"
#include "appliance/directory/support_grants.h"
#include "crypto/errc.h"
#include "crypto/sealed_stream.h"
#include "core/hex_text.h"
#include "store/record_key.h"

namespace vmx {
namespace {

using IdentityOf = std::function<std::optional<crypto::RecordIdentity>(std::span<const std::uint8_t>)>;

crypto::StoreKind sealed_kind(store::SegmentKind kind) {
    switch (kind) {
        case store::SegmentKind::mail: return crypto::StoreKind::mail;
        case store::SegmentKind::temp: return crypto::StoreKind::temp;
        case store::SegmentKind::smtp_in: return crypto::StoreKind::smtp_in;
        case store::SegmentKind::smtp_out: return crypto::StoreKind::smtp_out;
    }
    return crypto::StoreKind::mail;
}

IdentityOf by_record_key(crypto::StoreKind kind, std::uint32_t segment) {
    return [kind, segment](std::span<const std::uint8_t> key) -> std::optional<crypto::RecordIdentity> {
        auto k = store::decode_record_key(key);
        if (!k) return std::nullopt;
        return store::identity_of(kind, segment, *k);
    };
}

// How the keys of one database name their records; empty for a database that holds none (the key
// store's records are wrapped, not sealed, and are checked by loading the keyring).
IdentityOf identity_rule(const EnvRole& role, std::string_view database) {
    if (!role.global) return by_record_key(sealed_kind(role.segment_kind), role.segment);
    switch (role.global_kind) {
        case store::GlobalKind::audit: return by_record_key(crypto::StoreKind::audit, 0);
        case store::GlobalKind::directory:
            if (database == "records") return stored_directory_identity;
            if (database == "logins") return stored_login_identity;
            if (database == "bans") return stored_ban_identity;
            if (database == "support") return stored_support_grant_identity;
            return {};
        case store::GlobalKind::keys: return {};
    }
    return {};
}

struct Walk {
    RecordCheck& out;
    const crypto::KeySet& keys;
    std::string where;  // "mail/0003 mailbox"

    void failed(std::span<const std::uint8_t> key, std::string_view what) {
        ++out.failures_total;
        if (out.failures.size() < RecordCheck::failures_max)
            out.failures.push_back(fmt::format("{}: record {}: {}", where, hex_of(key), what));
    }
    // A record that did not open: shredded by design, or a failure.
    void not_opened(std::span<const std::uint8_t> key, std::error_code error) {
        if (error == crypto::CryptoErrc::key_destroyed) {
            ++out.shredded;
            return;
        }
        failed(key, error.message());
    }
};

void check_database(store::Env& env, store::Dbi dbi, const IdentityOf& identity_of, Walk& walk) {
    auto txn = store::ReadTxn::begin(env);
    if (!txn) return walk.failed({}, "cannot read: " + txn.error().message());
    auto cursor = store::Cursor::open(*txn, dbi);
    if (!cursor) return walk.failed({}, "cannot read: " + cursor.error().message());
    std::optional<crypto::StreamOpener> stream;
    std::vector<std::uint8_t> stream_key;
    auto entry = cursor->first();
    for (; entry && *entry; entry = cursor->next()) {
        const store::Bytes key = (*entry)->key;
        const store::Bytes value = (*entry)->value;
        const auto identity = identity_of(key);
        const auto shape = crypto::peek_shape(value);
        if (!identity || !shape) {
            ++walk.out.unsealed;
            continue;
        }
        if (!shape->head) {  // a continuation: its stream's head came just before
            if (!stream) {
                walk.failed(key, "a body chunk without the chunk before it");
                continue;
            }
            if (auto chunk = stream->open(value); !chunk) {
                walk.failed(key, chunk.error().message());
                stream.reset();
                continue;
            }
            ++walk.out.opened;
            if (stream->finished()) stream.reset();
            continue;
        }
        if (stream) {
            walk.failed(stream_key, "the body ends before its final chunk");
            stream.reset();
        }
        if (shape->final) {
            if (auto plain = walk.keys.open(*identity, value); !plain) walk.not_opened(key, plain.error());
            else ++walk.out.opened;
            continue;
        }
        auto opener = walk.keys.open_stream(*identity, value);
        if (!opener) {
            walk.not_opened(key, opener.error());
            continue;
        }
        if (auto first = opener->open(value); !first) {
            walk.failed(key, first.error().message());
            continue;
        }
        ++walk.out.opened;
        stream = std::move(*opener);
        stream_key.assign(key.begin(), key.end());
    }
    if (!entry) walk.failed({}, "cannot read: " + entry.error().message());
    if (stream) walk.failed(stream_key, "the body ends before its final chunk");
}

}  // namespace

RecordCheck check_records(store::Env& env, const EnvRole& role, const crypto::KeySet& keys, const std::string& label) {
    RecordCheck out;
    auto names = env.database_names();
    if (!names) {
        ++out.failures_total;
        out.failures.push_back(fmt::format("{}: cannot list its databases: {}", label, names.error().message()));
        return out;
    }
    for (const std::string& name : *names) {
        const IdentityOf rule = identity_rule(role, name);
        if (!rule) continue;
        auto dbi = env.open_dbi(name.c_str());
        if (!dbi) {
            ++out.failures_total;
            out.failures.push_back(fmt::format("{} {}: cannot open: {}", label, name, dbi.error().message()));
            continue;
        }
        Walk walk{out, keys, fmt::format("{} {}", label, name)};
        check_database(env, *dbi, rule, walk);
    }
    return out;
}

}  // namespace vmx
