// may_send_as: the user's own address and each allowed sender, case-blind in both parts; nothing
// else, however close (a longer domain, a prefix, a sub-address, surrounding space), and never "".
#include "appliance/directory/senders.h"

#include <gtest/gtest.h>

namespace vmx {
namespace {

User ann() {
    User u;
    u.address = "ann@example.test";
    u.allowed_senders = {"sales@example.test", "a@b.c"};
    return u;
}

TEST(SendersTest, TheUsersOwnAddressInAnyCase) {
    EXPECT_TRUE(may_send_as(ann(), "ann@example.test"));
    EXPECT_TRUE(may_send_as(ann(), "ANN@Example.TEST"));
    User no_list = ann();
    no_list.allowed_senders.clear();
    EXPECT_TRUE(may_send_as(no_list, "Ann@example.test"));
    EXPECT_FALSE(may_send_as(no_list, "sales@example.test"));
}

TEST(SendersTest, EachListedAddressInAnyCase) {
    EXPECT_TRUE(may_send_as(ann(), "sales@example.test"));
    EXPECT_TRUE(may_send_as(ann(), "SALES@EXAMPLE.TEST"));
    EXPECT_TRUE(may_send_as(ann(), "a@B.C"));
    User upper = ann();  // a record built by hand rather than read from the directory
    upper.allowed_senders = {"Sales@Example.Test"};
    EXPECT_TRUE(may_send_as(upper, "sales@example.test"));
}

TEST(SendersTest, NearMissesAreRefused) {
    for (std::string_view other : {"a@b.cc", "a@b.c.", "aa@b.c", "a@bb.c", "@b.c", "a@b", "a@", "b.c",
                                   "sales@example.tes", "sales@example.test.", "sales+x@example.test",
                                   " sales@example.test", "sales@example.test ", "<sales@example.test>",
                                   "ann@example.test2", "nn@example.test", "bob@example.test"})
        EXPECT_FALSE(may_send_as(ann(), other)) << other;
}

TEST(SendersTest, NeverTheEmptyAddress) {
    EXPECT_FALSE(may_send_as(ann(), ""));
    User empty;  // no address and no list: still not the null sender
    EXPECT_FALSE(may_send_as(empty, ""));
    empty.allowed_senders = {""};
    EXPECT_FALSE(may_send_as(empty, ""));
}

}  // namespace
}  // namespace vmx
