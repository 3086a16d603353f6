// `audit verify`: walks every entry in sequence order inside one read transaction, re-computes
// the hash chain and checks the head (see audit_log.h). Stops at the first fault; the report names
// the sequence and says what is wrong in one line.
#include <limits>
#include <optional>
#include <string>

#include "appliance/audit/chain.h"
#include "appliance/audit/audit_log.h"
#include "store/errc.h"

namespace vmx {
namespace {

using store::StoreErrc;

// How far either side of a sealed value's place verify looks for the sequence it was sealed for,
// so that a moved or swapped entry is reported as such (a few milliseconds at most; failures only).
constexpr std::uint64_t origin_window = 4096;

std::string range_text(std::uint64_t from, std::uint64_t to) {
    if (from == to) return "entry " + std::to_string(from) + " is";
    return "entries " + std::to_string(from) + ".." + std::to_string(to) + " are";
}

class Verifier {
public:
    Verifier(const crypto::KeySet& keys, store::Dbi dbi) : keys_(keys), dbi_(dbi) {}

    AuditVerifyReport run(store::Env& env) {
        auto txn = store::ReadTxn::begin(env);
        if (!txn) return unreadable(txn.error());
        auto cursor = store::Cursor::open(*txn, dbi_);
        if (!cursor) return unreadable(cursor.error());
        std::optional<std::vector<std::uint8_t>> head;
        for (auto e = cursor->first();; e = cursor->next()) {
            if (!e) return unreadable(e.error());
            if (!*e) break;
            const AuditKey key = classify_audit_key((*e)->key);
            if (key.kind == AuditKeyKind::head) {
                head.emplace((*e)->value.begin(), (*e)->value.end());
            } else if (key.kind == AuditKeyKind::unknown) {
                return fault(AuditFault::changed, last_ + 1,
                             "a record that is no audit entry follows entry " + std::to_string(last_));
            } else if (!check_entry(key.sequence, (*e)->value)) {
                return report_;
            }
        }
        check_head(head);
        return report_;
    }

private:
    bool check_entry(std::uint64_t sequence, store::Bytes sealed) {
        const std::uint64_t expected = last_ + 1;
        const std::string name = "entry " + std::to_string(expected);
        if (sequence != expected)
            return stop(AuditFault::removed, expected,
                        name + " is missing (the next entry present is " + std::to_string(sequence) + ")");
        auto entry = open_audit_entry(keys_, sequence, sealed);
        if (!entry) {
            unopened(sequence, sealed, entry.error());
            return false;
        }
        if (entry->sequence != sequence)
            return stop(AuditFault::reordered, sequence, name + " records sequence " + std::to_string(entry->sequence));
        if (entry->previous_hash != previous_hash_)
            return stop(AuditFault::changed, sequence,
                        name + " does not carry the hash of entry " + std::to_string(last_) + ": the chain was rewritten");
        if (entry->time_unix < time_unix_)
            return stop(AuditFault::reordered, sequence, name + " is older than entry " + std::to_string(last_));
        return advance(*entry);
    }

    // Entry last_ + 1 checked: extend the chain with it.
    bool advance(const AuditEntry& entry) {
        auto encoded = encode_audit_entry(entry);
        if (!encoded) return stop(AuditFault::unreadable, 0, "an entry cannot be re-encoded: " + encoded.error().message());
        auto hash = audit_chain_hash(previous_hash_, *encoded);
        if (!hash) return stop(AuditFault::unreadable, 0, "SHA-256 failed: " + hash.error().message());
        previous_hash_ = *hash;
        time_unix_ = entry.time_unix;
        last_ = entry.sequence;
        report_.entries = last_;
        return true;
    }

    void unopened(std::uint64_t sequence, store::Bytes sealed, std::error_code error) {
        const std::string name = "entry " + std::to_string(sequence);
        if (error == StoreErrc::corrupt) {
            fault(AuditFault::changed, sequence, name + " opens but is malformed");
        } else if (auto from = origin_of(sequence, sealed)) {
            fault(AuditFault::reordered, sequence,
                  name + " holds the sealed value of entry " + std::to_string(*from) + ": entries were moved or swapped");
        } else {
            fault(AuditFault::changed, sequence,
                  name + " does not open under the appliance key (" + error.message() +
                      "): a byte was changed, or it was sealed with another key");
        }
    }

    // The sequence, near `sequence`, that a sealed value really belongs to.
    std::optional<std::uint64_t> origin_of(std::uint64_t sequence, store::Bytes sealed) const {
        const std::uint64_t from = sequence > origin_window ? sequence - origin_window : 1;
        const std::uint64_t to = std::min(sequence + origin_window, audit_sequence_max);
        for (std::uint64_t s = from; s <= to; ++s) {
            if (s != sequence && open_audit_entry(keys_, s, sealed)) return s;
        }
        return std::nullopt;
    }

    void check_head(const std::optional<std::vector<std::uint8_t>>& sealed) {
        if (!sealed) {
            fault(AuditFault::truncated, last_ + 1,
                  last_ == 0 ? "the chain head is missing: the log was emptied or replaced"
                             : "the chain head is missing: entries after " + std::to_string(last_) +
                                   " may have been removed");
            return;
        }
        auto head = open_audit_head(keys_, *sealed);
        if (!head) {
            fault(AuditFault::changed, 0,
                  head.error() == StoreErrc::corrupt
                      ? std::string("the chain head opens but is malformed")
                      : "the chain head does not open under the appliance key (" + head.error().message() + ")");
            return;
        }
        check_head_matches(*head);
    }

    void check_head_matches(const AuditHead& head) {
        if (head.sequence > last_) {
            fault(AuditFault::truncated, last_ + 1,
                  range_text(last_ + 1, head.sequence) + " missing: the log was truncated");
        } else if (head.sequence < last_) {
            fault(AuditFault::changed, head.sequence + 1,
                  "entry " + std::to_string(head.sequence + 1) + " is past the chain head (" +
                      std::to_string(head.sequence) + "): the head was rolled back");
        } else if (head.hash != previous_hash_ || (last_ > 0 && head.time_unix != time_unix_)) {
            fault(AuditFault::changed, last_,
                  "the chain head does not match entry " + std::to_string(last_) + ": the chain was rewritten");
        } else {
            report_.head_sequence = head.sequence;
            report_.head_hash = head.hash;
        }
    }

    AuditVerifyReport fault(AuditFault f, std::uint64_t bad_sequence, std::string detail) {
        report_.fault = f;
        report_.bad_sequence = bad_sequence;
        report_.detail = std::move(detail);
        return report_;
    }
    bool stop(AuditFault f, std::uint64_t bad_sequence, std::string detail) {
        fault(f, bad_sequence, std::move(detail));
        return false;
    }
    AuditVerifyReport unreadable(std::error_code error) {
        return fault(AuditFault::unreadable, 0, "the audit environment cannot be read: " + error.message());
    }

    const crypto::KeySet& keys_;
    store::Dbi dbi_;
    std::uint64_t last_ = 0;
    AuditHash previous_hash_{};
    std::int64_t time_unix_ = std::numeric_limits<std::int64_t>::min();
    AuditVerifyReport report_;
};

}  // namespace

std::string_view name_of(AuditFault fault) noexcept {
    switch (fault) {
        case AuditFault::none: return "ok";
        case AuditFault::changed: return "changed";
        case AuditFault::removed: return "removed";
        case AuditFault::reordered: return "reordered";
        case AuditFault::truncated: return "truncated";
        case AuditFault::unreadable: return "unreadable";
    }
    return "unknown";
}

AuditVerifyReport AuditLog::verify() const { return Verifier(*keys_, dbi_).run(*env_); }

std::string format_audit_verify(const AuditVerifyReport& r) {
    if (r.ok())
        return "audit: ok: " + std::to_string(r.entries) + " entries, head " + std::to_string(r.head_sequence) +
               " sha256 " + audit_hash_hex(r.head_hash);
    if (r.fault == AuditFault::unreadable) return "audit: cannot verify: " + r.detail;
    const std::string where =
        r.bad_sequence == 0 ? std::string("the chain head") : "entry " + std::to_string(r.bad_sequence);
    return "audit: FAILED at " + where + ": " + std::string(name_of(r.fault)) + ": " + r.detail;
}

}  // namespace vmx
