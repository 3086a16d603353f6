// A staged export's records (see staged_export.h).
#include "appliance/mailstore/staged_export.h"

#include <algorithm>

#include "store/errc.h"
#include "store/shard_envs.h"

namespace vmx {
namespace {

constexpr std::string_view manifest_magic = "vmx-staged-export";
constexpr std::uint8_t manifest_version = 1;
constexpr std::size_t manifest_head_bytes = manifest_magic.size() + 1 + 1 + 8 + 8 + 8 + 4;
constexpr std::size_t manifest_part_bytes = 8 + 4;
constexpr std::size_t list_page_records = 1024;  // keys read per page while looking for the manifest

void put_le(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_le(std::span<const std::uint8_t> in, std::size_t& at, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{in[at + static_cast<std::size_t>(i)]} << (8 * i);
    at += static_cast<std::size_t>(bytes);
    return v;
}

store::Bytes bytes_of(std::string_view s) noexcept { return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}; }

bool is_export_record(const store::TempRecordRef& r) noexcept {
    return r.kind == staged_manifest_kind || r.kind == staged_part_kind;
}

Result<store::ReadTxn> begin_temp(ShardStore& store, std::uint32_t segment) {
    return store::ReadTxn::begin(*store.all_envs().env(segment, store::SegmentKind::temp));
}

// Whether export_id is a manifest of the user's, unexpired.
Result<bool> is_manifest(store::ReadTxn& txn, const store::TempStore& temp, std::uint64_t owner,
                         std::uint64_t export_id, std::int64_t now_unix) {
    auto listed = temp.list(txn, owner, export_id, 1);
    if (!listed) return fail(listed.error());
    return !listed->empty() && (*listed)[0].id == export_id && (*listed)[0].kind == staged_manifest_kind &&
           (*listed)[0].expires_unix > now_unix;
}

Result<StagedManifest> open_manifest(store::ReadTxn& txn, const store::TempStore& temp, const crypto::KeySet& keys,
                                     std::uint64_t owner, std::uint64_t id, std::int64_t now_unix) {
    auto plain = temp.get(txn, keys, owner, id, now_unix);
    if (!plain) return fail(plain.error());
    auto manifest = decode_manifest(*plain);
    if (!manifest) return fail(store::StoreErrc::corrupt);
    return std::move(*manifest);
}

}  // namespace

std::vector<std::uint8_t> encode_manifest(const StagedManifest& manifest) {
    std::vector<std::uint8_t> out(manifest_magic.begin(), manifest_magic.end());
    out.reserve(manifest_head_bytes + manifest.parts.size() * manifest_part_bytes);
    out.push_back(manifest_version);
    out.push_back(manifest.trash ? 1 : 0);
    put_le(out, manifest.messages, 8);
    put_le(out, manifest.bytes, 8);
    put_le(out, static_cast<std::uint64_t>(manifest.created_unix), 8);
    put_le(out, manifest.parts.size(), 4);
    for (const StagedPart& p : manifest.parts) {
        put_le(out, p.id, 8);
        put_le(out, p.bytes, 4);
    }
    return out;
}

std::optional<StagedManifest> decode_manifest(std::span<const std::uint8_t> bytes) {
    if (bytes.size() < manifest_head_bytes || !std::equal(manifest_magic.begin(), manifest_magic.end(), bytes.begin()))
        return std::nullopt;
    std::size_t at = manifest_magic.size();
    if (bytes[at++] != manifest_version) return std::nullopt;
    const std::uint8_t trash = bytes[at++];
    if (trash > 1) return std::nullopt;
    StagedManifest m;
    m.trash = trash == 1;
    m.messages = get_le(bytes, at, 8);
    m.bytes = get_le(bytes, at, 8);
    m.created_unix = static_cast<std::int64_t>(get_le(bytes, at, 8));
    const std::uint64_t parts = get_le(bytes, at, 4);
    if ((bytes.size() - at) / manifest_part_bytes != parts || (bytes.size() - at) % manifest_part_bytes != 0)
        return std::nullopt;
    std::uint64_t sum = 0;
    m.parts.reserve(parts);
    for (std::uint64_t i = 0; i < parts; ++i) {
        StagedPart p;
        p.id = get_le(bytes, at, 8);
        p.bytes = static_cast<std::uint32_t>(get_le(bytes, at, 4));
        sum += p.bytes;
        m.parts.push_back(p);
    }
    if (sum != m.bytes) return std::nullopt;
    return m;
}

Result<std::optional<StagedExport>> find_staged_export(ShardStore& store, const store::MailboxRef& box,
                                                       std::int64_t now_unix) {
    auto txn = begin_temp(store, box.segment);
    if (!txn) return fail(txn.error());
    const store::TempStore& temp = *store.segment(box.segment).temp;
    std::optional<store::TempRecordRef> newest;
    for (std::uint64_t from = 0;;) {
        auto page = temp.list(*txn, box.user_id, from, list_page_records);
        if (!page) return fail(page.error());
        for (const store::TempRecordRef& r : *page)
            if (r.kind == staged_manifest_kind && r.expires_unix > now_unix) newest = r;
        if (page->size() < list_page_records) break;
        from = page->back().id + 1;
    }
    std::optional<StagedExport> out;
    if (!newest) return out;
    auto manifest = open_manifest(*txn, temp, store.keys(), box.user_id, newest->id, now_unix);
    if (!manifest) return fail(manifest.error());
    out = StagedExport{newest->id, newest->expires_unix, std::move(*manifest)};
    return out;
}

Result<std::string> read_staged_part(ShardStore& store, const store::MailboxRef& box, std::uint64_t export_id,
                                     std::uint32_t index, std::int64_t now_unix) {
    auto txn = begin_temp(store, box.segment);
    if (!txn) return fail(txn.error());
    const store::TempStore& temp = *store.segment(box.segment).temp;
    auto manifest_there = is_manifest(*txn, temp, box.user_id, export_id, now_unix);
    if (!manifest_there) return fail(manifest_there.error());
    if (!*manifest_there) return fail(store::StoreErrc::not_found);
    auto manifest = open_manifest(*txn, temp, store.keys(), box.user_id, export_id, now_unix);
    if (!manifest) return fail(manifest.error());
    if (index >= manifest->parts.size()) return fail(store::StoreErrc::invalid_request);
    const StagedPart& part = manifest->parts[index];
    auto plain = temp.get(*txn, store.keys(), box.user_id, part.id, now_unix);
    if (!plain) return fail(plain.error());
    if (plain->size() != part.bytes) return fail(store::StoreErrc::corrupt);
    return std::string(plain->begin(), plain->end());
}

Result<store::WriteRequest> staged_part_write(ShardStore& store, const store::MailboxRef& box, std::string_view bytes,
                                              std::int64_t now_unix, std::int64_t expires_unix,
                                              store::TempRecordRef& written) {
    store::TempStore& temp = *store.segment(box.segment).temp;
    auto prepared = temp.prepare_put(store.keys(), box.scope, box.user_id, bytes_of(bytes), now_unix, expires_unix,
                                     staged_part_kind);
    if (!prepared) return fail(prepared.error());
    written = prepared->ref;
    store::WriteRequest request;
    request.env = store.lane_env(box.segment, store::SegmentKind::temp);
    request.ops = std::move(prepared->ops);
    return request;
}

Result<store::WriteRequest> staged_manifest_write(ShardStore& store, const store::MailboxRef& box,
                                                  const StagedManifest& manifest, std::int64_t now_unix,
                                                  std::int64_t expires_unix) {
    store::TempStore& temp = *store.segment(box.segment).temp;
    const std::vector<std::uint8_t> plain = encode_manifest(manifest);
    auto prepared = temp.prepare_put(store.keys(), box.scope, box.user_id, plain, now_unix, expires_unix,
                                     staged_manifest_kind);
    if (!prepared) return fail(prepared.error());
    store::WriteRequest request;
    request.env = store.lane_env(box.segment, store::SegmentKind::temp);
    request.ops = std::move(prepared->ops);
    return request;
}

store::WriteRequest erase_staged_write(ShardStore& store, const store::MailboxRef& box, std::size_t records_max) {
    store::WriteRequest request;
    request.env = store.lane_env(box.segment, store::SegmentKind::temp);
    store::TempStore* temp = store.segment(box.segment).temp.get();
    const std::uint64_t owner = box.user_id;
    // On the lane thread: the temp store's databases only, never its id counter (as the sweep).
    request.task = [temp, owner, records_max](store::WriteTxn& txn) -> Result<std::uint64_t> {
        std::uint64_t erased = 0;
        for (std::uint64_t from = 0; erased < records_max;) {
            auto page = temp->list(txn, owner, from, list_page_records);
            if (!page) return fail(page.error());
            for (const store::TempRecordRef& r : *page) {
                if (!is_export_record(r) || erased == records_max) continue;
                if (auto gone = temp->erase(txn, owner, r.id); !gone) return fail(gone.error());
                ++erased;
            }
            if (page->size() < list_page_records) break;
            from = page->back().id + 1;
        }
        return erased;
    };
    return request;
}

}  // namespace vmx
