// CFree<fn>: a unique_ptr deleter that calls a C library's free function, so every C handle
// (wolfSSL, wolfCrypt, LMDB ...) is owned by RAII: std::unique_ptr<WOLFSSL, CFree<wolfSSL_free>>.
#pragma once

namespace vmx {

template <auto Free>
struct CFree {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};

}  // namespace vmx
