// BodyEncoder: the streamed encoding equals a whole-buffer reference for every way of cutting the
// message into chunks (all two- and three-piece cuts, and one byte at a time), RETR and TOP.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "net/pop3/body_encoder.h"

namespace vmx::pop3 {
namespace {

// Reference, written line by line over the whole message.
std::string reference(const std::string& body, std::optional<std::uint64_t> top) {
    std::string out;
    bool in_headers = true;
    std::uint64_t left = top.value_or(0);
    std::size_t at = 0;
    while (at < body.size()) {
        const std::size_t lf = body.find('\n', at);
        const std::string line = body.substr(at, lf == std::string::npos ? std::string::npos : lf - at);
        at = lf == std::string::npos ? body.size() : lf + 1;
        if (!line.empty() && line[0] == '.') out += '.';
        out += line;
        out += !line.empty() && line.back() == '\r' ? "\n" : "\r\n";
        if (!top) continue;
        if (in_headers) {
            if (line.find_first_not_of('\r') == std::string::npos) in_headers = false;
            if (!in_headers && left == 0) break;
        } else if (--left == 0) {
            break;
        }
    }
    return out + ".\r\n";
}

std::string encode(const std::vector<std::string>& chunks, std::optional<std::uint64_t> top) {
    BodyEncoder e;
    e.reset(top);
    std::string out;
    for (const auto& c : chunks) e.encode(c, out);
    e.finish(out);
    return out;
}

const std::vector<std::string> samples = {
    "", ".", "..", "...\r\n", "a\r\n.\r\n", "\n\n.", "\r\r\n", ".\r", "x\r", "a\nb\r\nc", "\r\n.\r\n.",
    "H: 1\r\nH: 2\r\n\r\n.b1\r\nb2\r\n\r\nb4\r\n", "H: 1\n\n.\n..\nx", "H\r\n\r\r\n1\r\n2", "no headers end",
    ".H: x\r\n\r\n.\r\n",
};
const std::vector<std::optional<std::uint64_t>> modes = {std::nullopt, 0, 1, 2, 3, 100};

TEST(Pop3BodyEncoder, GoldenCases) {
    EXPECT_EQ(encode({"."}, std::nullopt), "..\r\n.\r\n");
    EXPECT_EQ(encode({".."}, std::nullopt), "...\r\n.\r\n");
    EXPECT_EQ(encode({"a\n", ".", "b"}, std::nullopt), "a\r\n..b\r\n.\r\n");
    EXPECT_EQ(encode({"a\r", "\n", "."}, std::nullopt), "a\r\n..\r\n.\r\n");
    EXPECT_EQ(encode({}, std::nullopt), ".\r\n");
    EXPECT_EQ(encode({"H: 1\r\n\r\nb1\r\nb2\r\n"}, 1), "H: 1\r\n\r\nb1\r\n.\r\n");
    EXPECT_EQ(encode({"H: 1\r\n\r\nb1\r\n"}, 0), "H: 1\r\n\r\n.\r\n");
}

TEST(Pop3BodyEncoder, EveryCutMatchesReference) {
    for (const auto& body : samples) {
        for (const auto& top : modes) {
            const std::string want = reference(body, top);
            ASSERT_EQ(encode({body}, top), want) << body;
            std::vector<std::string> bytes;
            for (char c : body) bytes.emplace_back(1, c);
            ASSERT_EQ(encode(bytes, top), want) << body;
            for (std::size_t i = 0; i <= body.size(); ++i) {
                for (std::size_t j = i; j <= body.size(); ++j) {
                    ASSERT_EQ(encode({body.substr(0, i), body.substr(i, j - i), body.substr(j)}, top), want)
                        << body << " cut at " << i << "," << j;
                }
            }
        }
    }
}

TEST(Pop3BodyEncoder, TopReportsEnoughAndIgnoresTheRest) {
    BodyEncoder e;
    e.reset(1);
    std::string out;
    EXPECT_FALSE(e.encode("H: 1\r\n\r\n", out));
    EXPECT_TRUE(e.encode("one\r\ntwo\r\n", out));
    EXPECT_TRUE(e.encode("three\r\n", out));
    e.finish(out);
    EXPECT_EQ(out, "H: 1\r\n\r\none\r\n.\r\n");
}

TEST(Pop3BodyEncoder, OutputStaysWithinTwiceTheChunk) {
    BodyEncoder e;
    e.reset(std::nullopt);
    const std::string worst(4096, '\n');
    std::string out;
    e.encode(worst, out);
    EXPECT_EQ(out.size(), 2 * worst.size());
}

}  // namespace
}  // namespace vmx::pop3
