// How the directory's LMDB keys and sealed identities are made, shared by the files that write
// the directory (directory.cc, directory_closure.cc) and by nothing else. Pure functions; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>

#include "appliance/directory/directory.h"
#include "store/errc.h"

namespace vmx::directory_keys {

inline std::array<std::uint8_t, 9> record_key(Directory::Kind kind, std::uint64_t id) {
    std::array<std::uint8_t, 9> key{};
    key[0] = static_cast<std::uint8_t>(kind);
    for (std::size_t i = 0; i < 8; ++i) key[1 + i] = static_cast<std::uint8_t>(id >> (56 - 8 * i));
    return key;
}

inline crypto::RecordIdentity identity(Directory::Kind kind, std::uint64_t id) {
    crypto::RecordIdentity out;
    out.store = crypto::StoreKind::directory;
    out.segment = 0;
    out.mailbox = static_cast<std::uint64_t>(kind);
    out.record_id = id;
    return out;
}

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline std::uint64_t get_le64(std::span<const std::uint8_t> b) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v |= std::uint64_t{b[i]} << (8 * i);
    return v;
}

inline std::array<std::uint8_t, 8> le64(std::uint64_t v) {
    std::array<std::uint8_t, 8> out{};
    for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (8 * i));
    return out;
}

// not_found from LMDB becomes the caller's "unknown ..." error.
inline std::error_code unknown_or(std::error_code e, DirectoryErrc unknown) {
    return e == store::StoreErrc::not_found ? make_error_code(unknown) : e;
}

}  // namespace vmx::directory_keys
