// RAII over librados' C handles: the cluster connection, an I/O context, read and write operations,
// an omap iterator and an aio completion. Each owner releases its handle once; none is copyable.
// Threads: librados' own rules (a connection and an I/O context may be shared; one operation is
// built and run by one thread).
#pragma once

#include <rados/librados.h>

#include <utility>

namespace vmx::store {

template <class H, void (*Release)(H)>
class RadosHandle {
public:
    RadosHandle() = default;
    explicit RadosHandle(H h) noexcept : h_(h) {}
    RadosHandle(RadosHandle&& other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    RadosHandle& operator=(RadosHandle&& other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    RadosHandle(const RadosHandle&) = delete;
    RadosHandle& operator=(const RadosHandle&) = delete;
    ~RadosHandle() { reset(); }

    H get() const noexcept { return h_; }
    H release() noexcept { return std::exchange(h_, nullptr); }
    explicit operator bool() const noexcept { return h_ != nullptr; }
    void reset() noexcept {
        if (h_ != nullptr) Release(std::exchange(h_, nullptr));
    }

private:
    H h_ = nullptr;
};

using RadosConnection = RadosHandle<rados_t, rados_shutdown>;
using RadosIoCtx = RadosHandle<rados_ioctx_t, rados_ioctx_destroy>;
using RadosWriteOp = RadosHandle<rados_write_op_t, rados_release_write_op>;
using RadosReadOp = RadosHandle<rados_read_op_t, rados_release_read_op>;
using RadosOmapIter = RadosHandle<rados_omap_iter_t, rados_omap_get_end>;
using RadosCompletion = RadosHandle<rados_completion_t, rados_aio_release>;

}  // namespace vmx::store
