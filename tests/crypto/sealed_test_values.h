// Tests only: the bytes, keys and identity the sealed-record and sealed-stream tests share (the
// golden records of both were built with these), and error_of for results.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "crypto/sealed_record.h"

namespace vmx::crypto::sealed_test {

using Bytes = std::vector<std::uint8_t>;
using Key = std::array<std::uint8_t, 32>;

inline Bytes hex(std::string_view text) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < text.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
    return out;
}

inline Bytes text(std::string_view s) { return {s.begin(), s.end()}; }

inline Key key_from(std::uint8_t first) {
    Key k{};
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + i);
    return k;
}

inline const Key scope_key = key_from(0x40);
inline const Key other_key = key_from(0x41);
inline const RecordIdentity identity{StoreKind::mail, 7, 0x0102030405060708, 42, {0x1122334455667788, 3}};

// The error of a result, or no error: unlike .error(), never aborts on an unexpected success.
template <class R>
std::error_code error_of(const R& r) {
    return r.has_value() ? std::error_code{} : r.error();
}

}  // namespace vmx::crypto::sealed_test
