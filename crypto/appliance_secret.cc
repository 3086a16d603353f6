#include "crypto/appliance_secret.h"

#include <array>

#include "crypto/errc.h"
#include "crypto/hkdf.h"
#include "crypto/sealed_record.h"

namespace vmx::crypto {
namespace {

// The sealing key: HKDF of the master key with a label of its own (never the master key itself).
Result<SecretBytes> secrets_key(const MasterKey& master) {
    return hkdf_sha256(master.material.view(), {}, "vaultmx appliance secrets v1", sealed_scope_key_bytes);
}

// The record id names the secret: the first 8 bytes of HKDF(name) with a fixed label. A name is
// public; what matters is that two names never share an identity by accident.
Result<RecordIdentity> identity_for(std::string_view name) {
    if (name.empty() || name.size() > appliance_secret_name_bytes_max) return fail(CryptoErrc::invalid_argument);
    std::array<std::uint8_t, 8> digest{};
    const std::span<const std::uint8_t> name_bytes(reinterpret_cast<const std::uint8_t*>(name.data()), name.size());
    const std::string_view label = "vaultmx appliance secret name v1";
    const std::span<const std::uint8_t> label_bytes(reinterpret_cast<const std::uint8_t*>(label.data()), label.size());
    if (auto r = hkdf_sha256_into(name_bytes, {}, label_bytes, digest); !r) return fail(r.error());
    RecordIdentity id;
    id.store = StoreKind::secrets;
    for (std::uint8_t b : digest) id.record_id = id.record_id << 8 | b;
    id.key = KeyRef{0, 1};
    return id;
}

std::span<const std::uint8_t, 32> as_key(const SecretBytes& s) { return std::span<const std::uint8_t, 32>(s.view().data(), 32); }

}  // namespace

Result<std::vector<std::uint8_t>> seal_appliance_secret(const MasterKey& master, std::string_view name,
                                                        std::span<const std::uint8_t> secret) {
    auto id = identity_for(name);
    if (!id) return fail(id.error());
    auto key = secrets_key(master);
    if (!key) return fail(key.error());
    return seal(as_key(*key), *id, secret);
}

Result<SecretBytes> open_appliance_secret(const MasterKey& master, std::string_view name,
                                          std::span<const std::uint8_t> sealed) {
    auto id = identity_for(name);
    if (!id) return fail(id.error());
    auto key = secrets_key(master);
    if (!key) return fail(key.error());
    auto plain = open(as_key(*key), *id, sealed);
    if (!plain) return fail(plain.error());
    SecretBytes out = SecretBytes::copy_of(*plain);
    secure_wipe(std::span<std::uint8_t>(plain->data(), plain->size()));
    return out;
}

}  // namespace vmx::crypto
