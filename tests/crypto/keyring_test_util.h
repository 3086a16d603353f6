// Small helpers the keyring tests share: a fixed master key by seed, bytes of a string, and the
// identity of a mail record.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "crypto/keyring.h"
#include "tests/support/test_keys.h"

namespace vmx::crypto::testing {

inline MasterKey test_master(std::uint8_t seed) { return vmx::testing::fixed_master_key(seed); }

inline std::vector<std::uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

inline RecordIdentity mail_identity(std::uint64_t mailbox, std::uint64_t record_id) {
    RecordIdentity id{};
    id.store = StoreKind::mail;
    id.segment = 3;
    id.mailbox = mailbox;
    id.record_id = record_id;
    return id;
}

}  // namespace vmx::crypto::testing
