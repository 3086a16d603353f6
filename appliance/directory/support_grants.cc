// Support reveal grants (see support_grants.h).
#include "appliance/directory/support_grants.h"

#include <array>

#include "appliance/common/display_text.h"
#include "appliance/directory/directory.h"
#include "core/byte_codec.h"
#include "store/codec.h"
#include "store/errc.h"

namespace vmx {
namespace {

constexpr std::uint8_t grant_version = 1;

using Key = std::array<std::uint8_t, 8>;

Key key_of(std::uint64_t user_id) {
    Key k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(user_id >> (8 * (7 - i)));
    return k;
}

std::uint64_t user_of(std::span<const std::uint8_t> key) {
    std::uint64_t id = 0;
    for (const std::uint8_t b : key) id = id << 8 | b;
    return id;
}

crypto::RecordIdentity identity_of(std::uint64_t user_id) {
    crypto::RecordIdentity identity;
    identity.store = crypto::StoreKind::directory;
    identity.segment = support_grant_segment;
    identity.mailbox = user_id;
    identity.record_id = 0;
    return identity;
}

}  // namespace

bool is_support_reason(std::string_view reason) {
    if (reason.empty() || reason.size() > support_reason_bytes_max || !is_display_safe(reason)) return false;
    return reason.find_first_not_of(' ') != std::string_view::npos;
}

std::optional<crypto::RecordIdentity> stored_support_grant_identity(std::span<const std::uint8_t> key) {
    if (key.size() != std::tuple_size_v<Key>) return std::nullopt;
    return identity_of(user_of(key));
}

std::vector<std::uint8_t> encode_support_grant(const SupportGrant& grant) {
    std::vector<std::uint8_t> out;
    ByteWriter w(out);
    w.u8(grant_version);
    w.u32(grant.admin_uid);
    w.str(cut_utf8(grant.reason, support_reason_bytes_max));
    w.i64(grant.granted_unix);
    w.i64(grant.expires_unix);
    return out;
}

std::optional<SupportGrant> decode_support_grant(std::span<const std::uint8_t> bytes, std::uint64_t user_id) {
    ByteReader r(bytes);
    auto version = r.u8();
    auto uid = r.u32();
    auto reason = r.str(support_reason_bytes_max);
    auto granted = r.i64();
    auto expires = r.i64();
    if (!version || *version != grant_version || !uid || !reason || !is_support_reason(*reason) || !granted ||
        !expires || *expires < *granted || !r.at_end())
        return std::nullopt;
    return SupportGrant{user_id, *uid, std::move(*reason), *granted, *expires};
}

Result<SupportGrants> SupportGrants::open(store::Env& directory_env) {
    auto dbi = directory_env.open_dbi("support");
    if (!dbi) return fail(dbi.error());
    return SupportGrants(directory_env, *dbi);
}

Result<std::optional<SupportGrant>> SupportGrants::find(const crypto::KeySet& keys, std::uint64_t user_id) const {
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    const Key key = key_of(user_id);
    auto value = txn->get(dbi_, key);
    if (!value && value.error() == store::StoreErrc::not_found) return std::optional<SupportGrant>{};
    if (!value) return fail(value.error());
    auto plain = store::open_value(keys, identity_of(user_id), *value);
    if (!plain) return fail(plain.error());
    auto grant = decode_support_grant(*plain, user_id);
    if (!grant) return fail(std::make_error_code(std::errc::bad_message));
    return std::optional<SupportGrant>(std::move(*grant));
}

Result<void> SupportGrants::put(const crypto::KeySet& keys, const SupportGrant& grant) {
    auto sealed = store::seal_value(keys, appliance_scope, identity_of(grant.user_id), encode_support_grant(grant),
                                    store::Compress::never);
    if (!sealed) return fail(sealed.error());
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    const Key key = key_of(grant.user_id);
    if (auto r = txn->put(dbi_, key, *sealed); !r) return r;
    return txn->commit();
}

Result<void> SupportGrants::erase(std::uint64_t user_id) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto erased = txn->erase(dbi_, key_of(user_id));
    if (!erased) return fail(erased.error());
    if (!*erased) return {};  // none: nothing to commit
    return txn->commit();
}

Result<std::size_t> SupportGrants::erase_expired(const crypto::KeySet& keys, std::int64_t now_unix, std::size_t max) {
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    std::vector<Key> doomed;
    {
        auto cursor = store::Cursor::open(*txn, dbi_);
        if (!cursor) return fail(cursor.error());
        for (auto e = cursor->first(); doomed.size() < max; e = cursor->next()) {
            if (!e) return fail(e.error());
            if (!*e) break;
            if ((*e)->key.size() != std::tuple_size_v<Key>) continue;
            const std::uint64_t user = user_of((*e)->key);
            auto plain = store::open_value(keys, identity_of(user), (*e)->value);
            std::optional<SupportGrant> grant;
            if (plain) grant = decode_support_grant(*plain, user);
            if (!grant || grant->expires_unix <= now_unix) doomed.push_back(key_of(user));
        }
    }
    for (const Key& k : doomed)
        if (auto r = txn->erase(dbi_, k); !r) return fail(r.error());
    if (auto r = txn->commit(); !r) return fail(r.error());
    return doomed.size();
}

}  // namespace vmx
