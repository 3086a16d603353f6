// The mailbox-list parser: what Thunderbird, Outlook, Apple Mail, mutt and swaks put in From:,
// the obsolete forms still sent, and the tricks (groups, routes, unbalanced delimiters, nested
// comments, control bytes) that must be refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/smtp/address_list.h"

namespace vmx::smtp {
namespace {

using List = std::vector<std::string>;

void expect_list(std::string_view value, const List& want) {
    SCOPED_TRACE(testing::PrintToString(std::string(value)));
    const auto got = parse_mailbox_list(value, 100);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, want);
}

void expect_refused(std::string_view value) {
    SCOPED_TRACE(testing::PrintToString(std::string(value)));
    EXPECT_FALSE(parse_mailbox_list(value, 100).has_value());
}

TEST(SmtpAddressList, WhatClientsSend) {
    expect_list(" a@b", {"a@b"});                                                // swaks
    expect_list(" John Doe <john.doe@example.com>", {"john.doe@example.com"});    // Thunderbird
    expect_list(" \"Doe, John\" <j@example.com>", {"j@example.com"});             // Outlook
    expect_list(" =?utf-8?q?J=C3=B6rg?= <j@example.com>", {"j@example.com"});     // RFC 2047
    expect_list(" \"Jörg Müller\" <j@example.com>", {"j@example.com"});           // RFC 6532
    expect_list(" Jörg <jörg@exämple.com>", {"jörg@exämple.com"});
    expect_list(" <j@example.com>", {"j@example.com"});
    expect_list(" j@example.com (John Doe)", {"j@example.com"});                  // mutt, old style
    expect_list(" John (the boss) Doe <j@example.com> (work)", {"j@example.com"});
    expect_list("\tJohn Doe\t<j@example.com>", {"j@example.com"});
    expect_list(" a@example.com, \"B\" <b@example.org>,c@example.net",
                {"a@example.com", "b@example.org", "c@example.net"});
}

TEST(SmtpAddressList, CanonicalForm) {
    expect_list(" j@EXAMPLE.Com", {"j@example.com"});               // domains compare lower-cased
    expect_list(" John@example.com", {"John@example.com"});         // local parts are kept
    expect_list(" \"john\"@example.com", {"john@example.com"});     // quoting cannot disguise
    expect_list(" \"jo\\hn.doe\"@example.com", {"john.doe@example.com"});
    expect_list(" \"john doe\"@example.com", {"\"john doe\"@example.com"});
    expect_list(" \"a\\\"b\"@example.com", {"\"a\\\"b\"@example.com"});
    expect_list(" \"a@b\"@example.com", {"\"a@b\"@example.com"});
    expect_list(" j @ example.com", {"j@example.com"});             // CFWS around "@" (dot-atom)
    expect_list(" < j@example.com >", {"j@example.com"});
    expect_list(" j(x)@(y)example.com", {"j@example.com"});
    expect_list(" j@[192.0.2.1]", {"j@[192.0.2.1]"});
    expect_list(" j@[IPv6:2001:DB8::1]", {"j@[ipv6:2001:db8::1]"});
}

TEST(SmtpAddressList, ObsoleteFormsStillSent) {
    expect_list(" John Q. Public <jqp@example.com>", {"jqp@example.com"});   // obs-phrase
    expect_list(" John Q.Public <jqp@example.com>", {"jqp@example.com"});
    expect_list(" a@b, , c@d", {"a@b", "c@d"});                              // obs-mbox-list
    expect_list(",a@b,", {"a@b"});
    expect_list(" (c) , (d) a@b", {"a@b"});
}

TEST(SmtpAddressList, CommentsNestWithinALimit) {
    expect_list(" a@b (x (y \\) (z)) w)", {"a@b"});
    std::string ok = " a@b ";
    for (std::size_t i = 0; i < comment_depth_max; ++i) ok += '(';
    ok.append(comment_depth_max, ')');
    expect_list(ok, {"a@b"});
    std::string deep = " a@b ";
    deep.append(comment_depth_max + 1, '(');
    deep.append(comment_depth_max + 1, ')');
    expect_refused(deep);
    expect_refused(" a@b " + std::string(100000, '('));
}

TEST(SmtpAddressList, EmptyAndMissingParts) {
    expect_refused("");
    expect_refused("   ");
    expect_refused(" (just a comment)");
    expect_refused(" , ,");
    expect_refused(" john");                   // no "@"
    expect_refused(" John Doe");
    expect_refused(" @example.com");
    expect_refused(" john@");
    expect_refused(" \"\"@example.com");
    expect_refused(" John <>");
    expect_refused(" <john>");
    expect_refused(" j@[]");
    expect_refused(" .j@example.com");
    expect_refused(" j.@example.com");
    expect_refused(" j..k@example.com");
    expect_refused(" j@example..com");
    expect_refused(" . <j@example.com>");      // a phrase starts with a word
}

TEST(SmtpAddressList, Refused) {
    expect_refused(" Friends: a@b, c@d;");          // RFC 6854 group
    expect_refused(" undisclosed-recipients:;");
    expect_refused(" <@relay.example:j@example.com>");  // source route
    expect_refused(" <@a,@b:j@example.com>");
    expect_refused(" a@b@c");
    expect_refused(" a@b junk");
    expect_refused(" <a@b> junk");
    expect_refused(" <a@b>>");
    expect_refused(" a@b c@d");                    // a missing comma
    expect_refused(" John Doe, Jr. <j@example.com>");  // unquoted comma in a display name
    expect_refused(" \"a\".\"b\"@example.com");    // obs-local-part mixtures
    expect_refused(" a . b@example.com");
    expect_refused(" j@[1.2.3.4");
    expect_refused(" j@[1.2 .3.4]");
    expect_refused(" j@[a\\]b]");
    expect_refused(" j@example.com]");
}

TEST(SmtpAddressList, Unbalanced) {
    expect_refused(" <a@b");
    expect_refused(" John <a@b");
    expect_refused(" a@b>");
    expect_refused(" \"John <a@b>");
    expect_refused(" \"john@example.com");
    expect_refused(" \"john\\\"@example.com");
    expect_refused(" a@b (Name");
    expect_refused(" a@b Name)");
    expect_refused(" a@b (x))");
    expect_refused(" a@b (x\\");
}

TEST(SmtpAddressList, ControlBytes) {
    expect_refused(std::string(" a\0b@example.com", 16));
    expect_refused(std::string(" a@b (\0)", 8));
    expect_refused(std::string(" \"a\0\"@b", 7));
    expect_refused(std::string(" \"a\\\0\"@b", 8));
    expect_refused(" a@b\r\n");
    expect_refused(" a@b\r");
    expect_refused(" John\x01 <a@b>");
    expect_refused(" \"x\x7f\" <a@b>");
    expect_refused(" a@b (\x1b[31m)");
}

TEST(SmtpAddressList, MaxMailboxes) {
    EXPECT_TRUE(parse_mailbox_list("a@b, c@d", 2).has_value());
    EXPECT_FALSE(parse_mailbox_list("a@b, c@d", 1).has_value());
    EXPECT_FALSE(parse_mailbox_list("a@b", 0).has_value());
    std::string many;
    for (int i = 0; i < 101; ++i) many += "a@b,";
    EXPECT_FALSE(parse_mailbox_list(many, 100).has_value());
    EXPECT_EQ(parse_mailbox_list(many, 101)->size(), 101u);
}

}  // namespace
}  // namespace vmx::smtp
