// Result<T>: a value or a std::error_code, shaped like C++23 std::expected so that moving to it is
// a rename. Errors on the hot path are values, never exceptions. Any thread may use it.
#pragma once

#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace vmx {

template <class E>
struct Unexpected {
    E error;
};

inline Unexpected<std::error_code> fail(std::error_code ec) { return {ec}; }
template <class Enum>
    requires std::is_error_code_enum_v<Enum>
Unexpected<std::error_code> fail(Enum e) {
    return {make_error_code(e)};
}
// An errno value from a failed system call.
inline Unexpected<std::error_code> fail_errno(int err) { return {std::error_code(err, std::system_category())}; }

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit like expected
    Result(Unexpected<std::error_code> e) : v_(std::in_place_index<1>, e.error) {}  // NOLINT

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    T& value() & { VMX_ASSERT(has_value()); return std::get<0>(v_); }
    const T& value() const& { VMX_ASSERT(has_value()); return std::get<0>(v_); }
    T&& value() && { VMX_ASSERT(has_value()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    std::error_code error() const { VMX_ASSERT(!has_value()); return std::get<1>(v_); }

private:
    std::variant<T, std::error_code> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Unexpected<std::error_code> e) : ec_(e.error) {}  // NOLINT

    bool has_value() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return has_value(); }
    std::error_code error() const { return ec_; }

private:
    std::error_code ec_;
};

}  // namespace vmx
