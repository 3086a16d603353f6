// No plaintext on disk: messages holding a marker (once, and repeated so that they compress) go
// through the real mailbox code into a real data folder on disk; after everything is closed, every
// byte of every file under the folder is searched for the marker in any letter case, and for the
// other recognisable parts of the messages (header lines).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_keys.h"
#include "store/layout.h"
#include "store/mailbox.h"
#include "tests/store/store_test_util.h"

namespace vmx::store {
namespace {

using testing::bytes;
using testing::TempDir;

constexpr const char* marker = "VaultMxPlainTextMarker7f3e";
constexpr const char* subject = "Subject: quarterly figures for Zebulon";
constexpr const char* sender = "From: alice.zebulon@example.org";

crypto::MasterKey test_master() { return vmx::testing::fixed_master_key(3); }

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}
std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

std::string message(int n, std::size_t repeats) {
    std::string m = std::string(sender) + "\r\nTo: bob@example.net\r\n" + subject + "\r\n\r\n";
    for (std::size_t i = 0; i < repeats; ++i) m += "line " + std::to_string(i % 7) + " " + marker + "\r\n";
    m += "message " + std::to_string(n) + " " + marker + "\r\n";
    return m;
}

struct ScanResult {
    std::size_t files = 0;
    std::size_t bytes = 0;
    std::vector<std::string> hits;  // "needle in path"
};

// Every byte of every regular file under `folder`, searched for the marker (any case) and the
// messages' header lines.
ScanResult scan_folder(const std::string& folder) {
    const std::string needles[] = {marker, lower(marker), upper(marker), subject, sender, "Zebulon",
                                    lower("Zebulon"), "example.org"};
    ScanResult result;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        ++result.files;
        result.bytes += content.size();
        for (const std::string& needle : needles)
            if (content.find(needle) != std::string::npos) result.hits.push_back(needle + " in " + entry.path().string());
    }
    return result;
}

// The scan itself works: a value written to LMDB in the clear is found, in every case form.
TEST(PlaintextScanTest, ScanFindsPlaintextWrittenInTheClear) {
    TempDir dir;
    const std::string folder = dir.sub("control");
    {
        auto env = Env::open(folder, EnvOptions{});
        ASSERT_TRUE(env);
        auto dbi = (*env)->open_dbi("control");
        ASSERT_TRUE(dbi);
        auto txn = WriteTxn::begin(**env);
        ASSERT_TRUE(txn);
        ASSERT_TRUE(txn->put(*dbi, bytes("k"), bytes(upper(marker) + " " + lower(marker) + " " + message(0, 2))));
        ASSERT_TRUE(txn->commit());
    }
    const ScanResult scan = scan_folder(folder);
    EXPECT_EQ(scan.hits.size(), 8u);
}

TEST(PlaintextScanTest, NoMarkerInAnyFileOfTheDataFolder) {
    TempDir dir;  // on a real disk (/var/tmp), not tmpfs
    const std::string data = dir.path() + "/data";
    StoreOptions options;
    options.sizing.segments = 4;
    options.sizing.mail_map_mib = 16;
    options.sizing.queue_map_mib = 1;
    options.sizing.temp_map_mib = 1;
    options.sizing.global_map_mib = 1;
    options.sizing.map_mib_max = 64;
    auto made = StoreLayout::init(data, options);
    ASSERT_TRUE(made) << made.error().message();
    const StoreLayout layout = made->layout;

    crypto::Keyring ring = crypto::Keyring::create(test_master());
    const std::uint64_t users[] = {11, 12, 13, 14, 15, 16};
    for (std::uint64_t u : users) ASSERT_TRUE(ring.ensure_scope_key({crypto::ScopeKind::user, u}, 1700000000));
    auto keys = ring.snapshot();

    std::size_t appended = 0;
    for (std::uint32_t seg = 0; seg < layout.segments(); ++seg) {
        auto env = Env::open(layout.path(SegmentKind::mail, seg), layout.env_options(SegmentKind::mail));
        ASSERT_TRUE(env);
        auto dbi = open_mailbox_dbi(**env);
        ASSERT_TRUE(dbi);
        for (std::uint64_t u : users) {
            if (segment_of(u, layout.segments()) != seg) continue;
            const MailboxRef box{u, seg, {crypto::ScopeKind::user, u}};
            auto txn = WriteTxn::begin(**env);
            ASSERT_TRUE(txn);
            // Small, medium, highly compressible over several chunks, and one sent to trash.
            for (std::size_t repeats : {std::size_t{0}, std::size_t{20}, std::size_t{6000}, std::size_t{3}}) {
                auto id = append(*txn, *dbi, *keys, box, bytes(message(static_cast<int>(appended), repeats)),
                                 AppendOptions{1700000000, 0});
                ASSERT_TRUE(id) << id.error().message();
                ++appended;
            }
            ASSERT_TRUE(move_to_trash(*txn, *dbi, *keys, box, 4, 1700000100));
            ASSERT_TRUE(txn->commit());
        }
        // Everything is readable back before the scan, so the scan is not vacuous.
        auto rtxn = ReadTxn::begin(**env);
        ASSERT_TRUE(rtxn);
        for (std::uint64_t u : users) {
            if (segment_of(u, layout.segments()) != seg) continue;
            const MailboxRef box{u, seg, {crypto::ScopeKind::user, u}};
            auto reader = BodyReader::open(*rtxn, *dbi, *keys, box, 3);
            ASSERT_TRUE(reader);
            std::string body;
            for (auto c = reader->next(*rtxn, *keys); c && *c; c = reader->next(*rtxn, *keys))
                body.append((*c)->begin(), (*c)->end());
            EXPECT_NE(body.find(marker), std::string::npos);
            EXPECT_GT(body.size(), 2 * body_chunk_bytes);
        }
    }
    ASSERT_EQ(appended, std::size(users) * 4);

    const ScanResult scan = scan_folder(data);
    for (const std::string& hit : scan.hits) ADD_FAILURE() << "plaintext on disk: " << hit;
    const std::size_t files = scan.files, scanned_bytes = scan.bytes;
    EXPECT_GT(files, 4u);
    EXPECT_GT(scanned_bytes, 100u * 1024u);
}

}  // namespace
}  // namespace vmx::store
