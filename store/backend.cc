#include "store/backend.h"

namespace vmx::store {

bool valid_table_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > backend_table_name_max) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
    return true;
}

bool valid_lease_text(std::string_view text) noexcept {
    if (text.empty() || text.size() > 64) return false;
    for (char c : text)
        if (c <= ' ' || c > '~') return false;
    return true;
}

std::error_code check_batch(const Batch& batch, std::size_t tables) noexcept {
    const auto bad_key = [&](Table t, const ByteString& key) {
        return t.id >= tables || key.empty() || key.size() > backend_key_bytes_max;
    };
    for (const Expect& e : batch.expects) {
        if (e.kind == ExpectKind::lease_held) {
            const std::string_view name(reinterpret_cast<const char*>(e.key.data()), e.key.size());
            const std::string_view holder(reinterpret_cast<const char*>(e.value.data()), e.value.size());
            if (!valid_lease_text(name) || !valid_lease_text(holder)) return StoreErrc::invalid_request;
            continue;
        }
        if (bad_key(e.table, e.key) || e.value.size() > backend_value_bytes_max) return StoreErrc::invalid_request;
    }
    for (const Change& c : batch.changes)
        if (bad_key(c.table, c.key) || c.value.size() > backend_value_bytes_max) return StoreErrc::invalid_request;
    return {};
}

}  // namespace vmx::store
