// Fuzz target: a hostile or broken ACME CA (appliance/acme/acme_client.h). The input is the CA's
// answers in order, split by a line "--": each is "STATUS", then header lines (Location,
// Replay-Nonce), a blank line and the body. When they run out the transport fails. Checks: the
// order ends (never loops on its own), never succeeds without a chain for its own key, and always
// leaves the challenge board empty.
#include <atomic>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/acme/acme_client.h"
#include "core/assert.h"

namespace {

class ScriptedCa final : public vmx::HttpsTransport {
public:
    explicit ScriptedCa(std::string_view script) {
        for (std::size_t at = 0; at <= script.size();) {
            const std::size_t end = script.find("\n--\n", at);
            answers_.emplace_back(script.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
            if (end == std::string_view::npos) break;
            at = end + 4;
        }
    }
    vmx::Result<vmx::HttpsReply> get(const std::string&) override { return next(); }
    vmx::Result<vmx::HttpsReply> head(const std::string&) override { return next(); }
    vmx::Result<vmx::HttpsReply> post_jose(const std::string&, std::string_view) override { return next(); }

private:
    vmx::Result<vmx::HttpsReply> next() {
        if (at_ >= answers_.size()) return vmx::fail(std::make_error_code(std::errc::io_error));
        std::string_view a = answers_[at_++];
        vmx::HttpsReply r;
        const std::size_t head_end = a.find("\n\n");
        std::string_view head = a.substr(0, head_end);
        r.body = head_end == std::string_view::npos ? std::string() : std::string(a.substr(head_end + 2));
        const std::size_t line_end = head.find('\n');
        const std::string_view status = head.substr(0, line_end);
        (void)std::from_chars(status.data(), status.data() + status.size(), r.status);
        for (head = line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 1); !head.empty();) {
            const std::size_t nl = head.find('\n');
            const std::string_view line = head.substr(0, nl);
            if (line.starts_with("Location: ")) r.location = line.substr(10);
            if (line.starts_with("Replay-Nonce: ")) r.replay_nonce = line.substr(14);
            head = nl == std::string_view::npos ? std::string_view() : head.substr(nl + 1);
        }
        return r;
    }
    std::vector<std::string_view> answers_;
    std::size_t at_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto account = vmx::crypto::AcmeKey::generate();
    VMX_ASSERT(account.has_value());
    ScriptedCa ca(std::string_view(reinterpret_cast<const char*>(data), size));
    vmx::ChallengeBoard board;
    std::atomic<bool> stopping{false};
    vmx::AcmeClient client(ca, board, *account, {"https://ca.test/dir", "", 0, 5}, stopping);
    auto issued = client.order({"mail.example.org", "mx.example.org"});
    VMX_ASSERT(!issued);  // no script can hold a chain for the key the client makes during the order
    VMX_ASSERT(!client.last_error().empty());
    VMX_ASSERT(board.size() == 0);
    return 0;
}
