#include "store/space_txn.h"

#include <algorithm>

namespace vmx::store {
namespace {

ByteString copy(ByteView b) { return {b.begin(), b.end()}; }

// The smallest key after k: k followed by a zero byte.
ByteString successor(const ByteString& k) {
    ByteString next = k;
    next.push_back(0);
    return next;
}

}  // namespace

// --- SpaceRead -------------------------------------------------------------------------------------

Result<std::unique_ptr<SpaceRead>> SpaceRead::begin(Space& space) {
    auto view = space.latest();
    if (!view) return fail(view.error());
    return std::unique_ptr<SpaceRead>(new SpaceRead(std::move(*view)));
}

Result<ByteView> SpaceRead::get(std::uint32_t table, ByteView key) {
    auto got = view_->get(Table{table}, key);
    if (!got) return fail(got.error());
    if (!*got) return fail(StoreErrc::not_found);
    held_.push_back(std::move(**got));
    return ByteView(held_.back());
}

Result<std::vector<KeyValue>> SpaceRead::scan(std::uint32_t table, ByteView from, std::size_t max) {
    return view_->scan(Table{table}, from, max);
}

// --- SpaceWrite ------------------------------------------------------------------------------------

Result<std::unique_ptr<SpaceWrite>> SpaceWrite::begin(Space& space) {
    auto view = space.latest();
    if (!view) return fail(view.error());
    return std::unique_ptr<SpaceWrite>(new SpaceWrite(space, std::move(*view)));
}

Result<std::optional<ByteString>> SpaceWrite::read_through(std::uint32_t table, ByteView key) {
    Slot slot{table, copy(key)};
    if (auto o = overlay_.find(slot); o != overlay_.end()) return o->second;
    if (auto seen = observed_.find(slot); seen != observed_.end()) return seen->second;
    auto got = view_->get(Table{table}, key);
    if (!got) return fail(got.error());
    observed_.emplace(std::move(slot), *got);
    return std::move(*got);
}

Result<ByteView> SpaceWrite::get(std::uint32_t table, ByteView key) {
    auto value = read_through(table, key);
    if (!value) return fail(value.error());
    if (!*value) return fail(StoreErrc::not_found);
    held_.push_back(std::move(**value));
    return ByteView(held_.back());
}

Result<void> SpaceWrite::put(std::uint32_t table, ByteView key, ByteView value, bool no_overwrite) {
    if (key.empty() || key.size() > backend_key_bytes_max || value.size() > backend_value_bytes_max)
        return fail(StoreErrc::invalid_request);
    if (no_overwrite) {
        auto existing = read_through(table, key);
        if (!existing) return fail(existing.error());
        if (*existing) return fail(StoreErrc::conflict);
    }
    overlay_[Slot{table, copy(key)}] = copy(value);
    batch_.put(Table{table}, key, value);
    return {};
}

Result<bool> SpaceWrite::erase(std::uint32_t table, ByteView key) {
    if (key.empty() || key.size() > backend_key_bytes_max) return fail(StoreErrc::invalid_request);
    auto existing = read_through(table, key);
    if (!existing) return fail(existing.error());
    if (!*existing) return false;
    overlay_[Slot{table, copy(key)}] = std::nullopt;
    batch_.erase(Table{table}, key);
    return true;
}

// Pages of the space's entries with this transaction's changes laid over them, until max entries
// or the table's end. Within a page, only overlay keys up to the page's last key count while more
// may follow in the space: past it, the space's own entries are not known yet.
Result<std::vector<KeyValue>> SpaceWrite::scan(std::uint32_t table, ByteView from, std::size_t max) {
    max = std::min(max, backend_scan_max);
    std::vector<KeyValue> out;
    ByteString start = copy(from);
    while (out.size() < max) {
        auto page = view_->scan(Table{table}, start, max);
        if (!page) return fail(page.error());
        const bool complete = page->size() < max;
        const ByteString high = complete ? ByteString{} : page->back().key;
        std::map<ByteString, ByteString> merged;
        for (auto& kv : *page) merged.emplace(std::move(kv.key), std::move(kv.value));
        for (auto it = overlay_.lower_bound(Slot{table, start}); it != overlay_.end() && it->first.first == table; ++it) {
            const ByteString& key = it->first.second;
            if (!complete && key > high) break;
            if (it->second) merged[key] = *it->second;
            else merged.erase(key);
        }
        for (auto& [k, v] : merged) {
            if (out.size() == max) break;
            out.push_back({k, std::move(v)});
        }
        if (complete) break;
        start = successor(high);
    }
    return out;
}

Result<void> SpaceWrite::commit() {
    Batch batch;
    for (const auto& [slot, value] : observed_) {
        if (value) batch.expect_equals(Table{slot.first}, slot.second, *value);
        else batch.expect_absent(Table{slot.first}, slot.second);
    }
    batch.changes = std::move(batch_.changes);
    if (batch.changes.empty()) return {};  // nothing to write: nothing to guard
    return space_.commit(batch);
}

// --- SpaceCursor -----------------------------------------------------------------------------------

Result<std::optional<KeyValue*>> SpaceCursor::load_from(ByteString from, bool inclusive) {
    if (!inclusive) from = successor(from);
    auto page = scan_(table_, from, page_entries);
    if (!page) return fail(page.error());
    page_last_ = page->size() < page_entries;
    whole_ = false;
    if (page->empty()) {
        positioned_ = false;
        return std::optional<KeyValue*>{};
    }
    page_begin_ = entries_.size();
    for (auto& kv : *page) entries_.push_back(std::move(kv));
    pos_ = page_begin_;
    positioned_ = true;
    return std::optional<KeyValue*>(&entries_[pos_]);
}

Result<std::optional<KeyValue*>> SpaceCursor::seek(ByteView key) { return load_from(copy(key), true); }

Result<std::optional<KeyValue*>> SpaceCursor::next() {
    if (!positioned_) return first();
    if (pos_ + 1 < entries_.size()) {
        ++pos_;
        return std::optional<KeyValue*>(&entries_[pos_]);
    }
    if (page_last_) return std::optional<KeyValue*>{};
    return load_from(entries_[pos_].key, false);
}

// The whole table, read in pages, as the current run of entries_.
Result<void> SpaceCursor::load_all() {
    const std::size_t begin = entries_.size();
    ByteString from;
    for (bool first = true;; first = false) {
        auto page = scan_(table_, first ? ByteString{} : successor(from), page_entries);
        if (!page) return fail(page.error());
        const bool end = page->size() < page_entries;
        for (auto& kv : *page) entries_.push_back(std::move(kv));
        if (end) break;
        from = entries_.back().key;
    }
    page_begin_ = begin;
    page_last_ = true;
    whole_ = true;
    return {};
}

Result<std::optional<KeyValue*>> SpaceCursor::last() {
    if (auto loaded = load_all(); !loaded) return fail(loaded.error());
    positioned_ = entries_.size() > page_begin_;
    if (!positioned_) return std::optional<KeyValue*>{};
    pos_ = entries_.size() - 1;
    return std::optional<KeyValue*>(&entries_[pos_]);
}

Result<std::optional<KeyValue*>> SpaceCursor::prev() {
    if (!positioned_) return last();
    if (!whole_) {
        const ByteString current = entries_[pos_].key;
        if (auto loaded = load_all(); !loaded) return fail(loaded.error());
        auto it = std::lower_bound(entries_.begin() + static_cast<std::ptrdiff_t>(page_begin_), entries_.end(), current,
                                   [](const KeyValue& kv, const ByteString& k) { return kv.key < k; });
        pos_ = static_cast<std::size_t>(it - entries_.begin());
    }
    if (pos_ == page_begin_) {
        positioned_ = false;
        return std::optional<KeyValue*>{};
    }
    --pos_;
    return std::optional<KeyValue*>(&entries_[pos_]);
}

}  // namespace vmx::store
