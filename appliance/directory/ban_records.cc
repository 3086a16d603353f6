// Ban records (see ban_records.h).
#include "appliance/directory/ban_records.h"

#include <array>

#include "appliance/directory/directory.h"
#include "core/byte_codec.h"
#include "store/codec.h"

namespace vmx {
namespace {

constexpr std::uint8_t ban_version = 1;
// Login history binds its records to user ids (never 0); bans use mailbox 0 of the directory.
constexpr std::uint64_t ban_mailbox = 0;

using Key = std::array<std::uint8_t, 8>;

Key key_of(std::uint64_t id) {
    Key k{};
    for (int i = 0; i < 8; ++i) k[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(id >> (8 * (7 - i)));
    return k;
}

crypto::RecordIdentity identity_of(std::uint64_t id) {
    crypto::RecordIdentity identity;
    identity.store = crypto::StoreKind::directory;
    identity.mailbox = ban_mailbox;
    identity.record_id = id;
    return identity;
}

}  // namespace

std::optional<crypto::RecordIdentity> stored_ban_identity(std::span<const std::uint8_t> key) {
    if (key.size() != std::tuple_size_v<Key>) return std::nullopt;
    std::uint64_t id = 0;
    for (const std::uint8_t b : key) id = id << 8 | b;
    return identity_of(id);
}

std::vector<std::uint8_t> encode_ban_record(const BanRecord& ban) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(ban_version);
    w.str(ban.address.substr(0, ban_address_bytes_max));
    w.i64(ban.since_unix);
    w.i64(ban.until_unix);
    w.u32(ban.failures);
    return out;
}

std::optional<BanRecord> decode_ban_record(std::span<const std::uint8_t> bytes, std::uint64_t id) {
    ByteReader r(bytes);
    if (r.u8() != ban_version) return std::nullopt;
    BanRecord ban;
    ban.id = id;
    auto address = r.str(ban_address_bytes_max);
    auto since = r.i64();
    auto until = r.i64();
    auto failures = r.u32();
    if (!address || !since || !until || !failures || !r.at_end()) return std::nullopt;
    ban.address = std::move(*address);
    ban.since_unix = *since;
    ban.until_unix = *until;
    ban.failures = *failures;
    return ban;
}

Result<BanRecords> BanRecords::open(store::Env& directory_env) {
    auto dbi = directory_env.open_dbi("bans");
    if (!dbi) return fail(dbi.error());
    return BanRecords(directory_env, *dbi);
}

Result<std::vector<BanRecord>> BanRecords::load(const crypto::KeySet& keys) const {
    std::vector<BanRecord> out;
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto cursor = store::Cursor::open(*txn, dbi_);
    if (!cursor) return fail(cursor.error());
    for (auto e = cursor->first();; e = cursor->next()) {
        if (!e) return fail(e.error());
        if (!*e) break;
        if ((*e)->key.size() != 8) continue;
        std::uint64_t id = 0;
        for (std::uint8_t b : (*e)->key) id = (id << 8) | b;
        auto plain = store::open_value(keys, identity_of(id), (*e)->value);
        if (!plain) return fail(plain.error());
        auto ban = decode_ban_record(*plain, id);
        if (!ban) return fail(std::make_error_code(std::errc::bad_message));
        out.push_back(std::move(*ban));
    }
    return out;
}

Result<void> BanRecords::put(const crypto::KeySet& keys, const BanRecord& ban) {
    auto sealed =
        store::seal_value(keys, appliance_scope, identity_of(ban.id), encode_ban_record(ban), store::Compress::never);
    if (!sealed) return fail(sealed.error());
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    const Key key = key_of(ban.id);
    if (auto r = txn->put(dbi_, key, *sealed); !r) return r;
    return txn->commit();
}

Result<void> BanRecords::erase(std::uint64_t id) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    const Key key = key_of(id);
    if (auto r = txn->erase(dbi_, key); !r) return fail(r.error());
    return txn->commit();
}

}  // namespace vmx
