// Appliance secrets in the keys environment (see appliance_secrets.h).
#include "appliance/keys/appliance_secrets.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "crypto/appliance_secret.h"
#include "crypto/errc.h"
#include "store/errc.h"

namespace vmx {
namespace {

constexpr std::uint8_t record_format = 1;
constexpr std::size_t header_bytes = 1 + 8;  // format, set time

store::Bytes as_bytes(std::string_view s) { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

std::vector<std::uint8_t> frame(std::int64_t set_unix, std::span<const std::uint8_t> sealed) {
    std::vector<std::uint8_t> out;
    out.reserve(header_bytes + sealed.size());
    out.push_back(record_format);
    const auto t = static_cast<std::uint64_t>(set_unix);
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(t >> shift));
    out.insert(out.end(), sealed.begin(), sealed.end());
    return out;
}

struct Frame {
    std::int64_t set_unix = 0;
    std::span<const std::uint8_t> sealed;
};

std::optional<Frame> unframe(store::Bytes value) {
    if (value.size() <= header_bytes || value[0] != record_format) return std::nullopt;
    std::uint64_t t = 0;
    for (std::size_t i = 1; i < header_bytes; ++i) t = t << 8 | value[i];
    return Frame{static_cast<std::int64_t>(t), value.subspan(header_bytes)};
}

}  // namespace

bool valid_secret_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > secret_name_bytes_max) return false;
    // '/' groups names ("dkim/DOMAIN/SELECTOR"); never first, last or doubled, so no part is empty.
    if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '/';
    });
}

Result<ApplianceSecrets> ApplianceSecrets::open(store::Env& keys_env) {
    auto dbi = keys_env.open_dbi("appliance-secrets");
    if (!dbi) return fail(dbi.error());
    return ApplianceSecrets(keys_env, *dbi);
}

Result<void> ApplianceSecrets::set(const crypto::MasterKey& master, std::string_view name,
                                   std::span<const std::uint8_t> value, std::int64_t now_unix) {
    if (!valid_secret_name(name) || value.empty() || value.size() > stored_secret_bytes_max)
        return fail(crypto::CryptoErrc::invalid_argument);
    auto sealed = crypto::seal_appliance_secret(master, name, value);
    if (!sealed) return fail(sealed.error());
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    if (auto r = txn->put(dbi_, as_bytes(name), frame(now_unix, *sealed)); !r) return fail(r.error());
    return txn->commit();
}

Result<bool> ApplianceSecrets::remove(std::string_view name) {
    if (!valid_secret_name(name)) return fail(crypto::CryptoErrc::invalid_argument);
    auto txn = store::WriteTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto erased = txn->erase(dbi_, as_bytes(name));
    if (!erased) return fail(erased.error());
    if (!*erased) return false;  // nothing written; the transaction aborts
    if (auto r = txn->commit(); !r) return fail(r.error());
    return true;
}

Result<std::optional<crypto::SecretBytes>> ApplianceSecrets::get(const crypto::MasterKey& master,
                                                                 std::string_view name) const {
    if (!valid_secret_name(name)) return fail(crypto::CryptoErrc::invalid_argument);
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto value = txn->get(dbi_, as_bytes(name));
    if (!value && value.error() == store::StoreErrc::not_found) return std::optional<crypto::SecretBytes>{};
    if (!value) return fail(value.error());
    const auto framed = unframe(*value);
    if (!framed) return fail(store::StoreErrc::corrupt);
    auto opened = crypto::open_appliance_secret(master, name, framed->sealed);
    if (!opened) return fail(opened.error());
    return std::optional<crypto::SecretBytes>(std::move(*opened));
}

Result<void> ApplianceSecrets::reseal(store::WriteTxn& txn, const crypto::MasterKey& from, const crypto::MasterKey& to) const {
    struct Resealed {
        std::string name;
        std::vector<std::uint8_t> value;
    };
    std::vector<Resealed> resealed;  // collected first: puts must not move the cursor under us
    {
        auto cursor = store::Cursor::open(txn, dbi_);
        if (!cursor) return fail(cursor.error());
        auto entry = cursor->first();
        for (; entry && *entry; entry = cursor->next()) {
            const auto framed = unframe((*entry)->value);
            if (!framed) return fail(store::StoreErrc::corrupt);
            const std::string name(reinterpret_cast<const char*>((*entry)->key.data()), (*entry)->key.size());
            auto opened = crypto::open_appliance_secret(from, name, framed->sealed);
            if (!opened) return fail(opened.error());
            auto sealed = crypto::seal_appliance_secret(to, name, opened->view());
            if (!sealed) return fail(sealed.error());
            resealed.push_back({name, frame(framed->set_unix, *sealed)});
        }
        if (!entry) return fail(entry.error());
    }
    for (const Resealed& r : resealed)
        if (auto put = txn.put(dbi_, as_bytes(r.name), r.value); !put) return fail(put.error());
    return {};
}

Result<std::vector<SecretInfo>> ApplianceSecrets::list() const {
    auto txn = store::ReadTxn::begin(*env_);
    if (!txn) return fail(txn.error());
    auto cursor = store::Cursor::open(*txn, dbi_);
    if (!cursor) return fail(cursor.error());
    std::vector<SecretInfo> out;
    auto entry = cursor->first();
    for (; entry && *entry; entry = cursor->next()) {
        const auto framed = unframe((*entry)->value);
        if (!framed) return fail(store::StoreErrc::corrupt);
        const auto key = (*entry)->key;
        out.push_back({std::string(reinterpret_cast<const char*>(key.data()), key.size()), framed->set_unix});
    }
    if (!entry) return fail(entry.error());
    return out;
}

}  // namespace vmx
