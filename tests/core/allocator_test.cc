// Every binary runs on mimalloc (except the sanitizer build, where ASan owns malloc).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#ifdef VMX_WITH_MIMALLOC
#include <mimalloc.h>
#endif

namespace {

TEST(Allocator, MallocIsMimalloc) {
#ifdef VMX_WITH_MIMALLOC
    void* p = std::malloc(100);
    auto* s = new std::string(200, 'x');
    EXPECT_TRUE(mi_is_in_heap_region(p));
    EXPECT_TRUE(mi_is_in_heap_region(s->data()));
    delete s;
    std::free(p);
#else
    GTEST_SKIP() << "sanitizer build: the sanitizer's allocator is in use by design";
#endif
}

// Large callocs hand back pages instead of writing zeros (core/large_calloc.cc): the memory must
// still read as zero, also when it is memory that was just used and freed, and at every size
// around the threshold and the page edges; small callocs as before.
TEST(Allocator, CallocIsZeroAtEverySize) {
    for (std::size_t bytes : {std::size_t{100}, std::size_t{1} << 20, (std::size_t{1} << 20) + 1,
                              (std::size_t{2} << 20) + 4095, std::size_t{2} << 20, std::size_t{8} << 20}) {
        for (int round = 0; round < 3; ++round) {
            void* dirty = std::malloc(bytes);
            ASSERT_NE(dirty, nullptr);
            std::memset(dirty, 0xA5, bytes);
            std::free(dirty);
            auto* p = static_cast<unsigned char*>(std::calloc(bytes, 1));
            ASSERT_NE(p, nullptr);
            std::size_t nonzero = 0;
            for (std::size_t i = 0; i < bytes; ++i) nonzero += p[i] != 0;
            EXPECT_EQ(nonzero, 0u) << bytes;
            p[bytes - 1] = 1;  // writable to the end
            std::free(p);
        }
    }
#ifdef VMX_WITH_MIMALLOC  // ASan reports an overflowing calloc as an error of its own
    volatile std::size_t huge = SIZE_MAX / 2;  // volatile: the compiler would refuse the call itself
    EXPECT_EQ(std::calloc(huge, 4), nullptr);  // count * size overflows
#endif
}

}  // namespace
