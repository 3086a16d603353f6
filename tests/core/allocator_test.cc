// Every binary runs on mimalloc (except the sanitizer build, where ASan owns malloc).
#include <gtest/gtest.h>

#include <cstdlib>
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

}  // namespace
