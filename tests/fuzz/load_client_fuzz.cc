// Fuzz target: the load harness's client engines (benchmarks/mail: SmtpClient, Pop3Client) fed
// server bytes, as a hostile or broken server would send them. The first byte picks the engine and
// its options; the rest is split into reads at 0x00 bytes (each fed whole, or byte by byte when the
// byte after the 0x00 is odd); after each read the output counts as sent, and a client that waits
// for its --rate turn gets it at once. Checked: no crash, the engine never asks for more than it can
// explain (a close once ends all output), counts never exceed what the server acknowledged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "benchmarks/mail/pop3_client.h"
#include "benchmarks/mail/smtp_client.h"
#include "core/assert.h"

namespace {

using namespace vmx::bench;

void feed_reads(LoadClient& client, std::string_view rest, bool& closed) {
    std::int64_t now = 0;
    while (!rest.empty()) {
        const std::size_t cut = rest.find('\0');
        const std::string_view read = rest.substr(0, cut);
        const bool bytewise = cut != std::string_view::npos && cut + 1 < rest.size() && (rest[cut + 1] & 1);
        rest = cut == std::string_view::npos ? std::string_view{} : rest.substr(cut + 1);
        ClientActions act;
        if (bytewise) {
            for (const char c : read) client.feed(std::string_view(&c, 1), ++now, act);
        } else {
            client.feed(read, ++now, act);
        }
        VMX_ASSERT(!closed || act.out.empty());  // nothing is sent after the session asked to close
        if (act.start_tls) client.on_tls_started(++now, act);
        closed = closed || act.close;
        client.on_sent(++now);
        if (act.wait_for_turn) {
            ClientActions turn;
            client.on_turn(++now, turn);
            VMX_ASSERT(!closed || turn.out.empty());
            closed = closed || turn.close;
        }
    }
}

void fuzz_smtp(std::uint8_t mode, std::string_view rest) {
    SmtpLoadOptions options;
    options.from = "s@src.test";
    options.rcpts = {"a@dst.test", "b@dst.test"};
    options.rcpts_per_msg = 1 + (mode >> 2 & 1);
    options.msgs_per_conn = 3;
    options.pipelining = mode & 2;
    options.transactions_paced = mode & 32;
    options.tls = (mode & 8) ? TlsStart::starttls : TlsStart::none;
    if (mode & 16) {
        options.auth_user = "u";
        options.auth_password = "p";
    }
    MessageSource source({{1024, 1}}, 1, "f@test.invalid");
    WorkBudget budget(4, 0);
    if (!options.transactions_paced) (void)budget.take(0);  // the first message, taken on connect unless paced
    LoadStats stats;
    std::string ack_log;
    SmtpThreadContext context{options, source, budget, stats, &ack_log};
    SmtpClient client(context);
    bool closed = false;
    feed_reads(client, rest, closed);
    VMX_ASSERT(stats.messages <= 4);
    VMX_ASSERT(stats.recipients <= stats.messages * options.rcpts_per_msg);
}

void fuzz_pop3(std::uint8_t mode, std::string_view rest) {
    Pop3LoadOptions options;
    options.dele = mode & 2;
    Pop3User user{"u@dst.test", "pw"};
    LoadStats stats;
    Pop3Client client(options, user, stats);
    bool closed = false;
    feed_reads(client, rest, closed);
    VMX_ASSERT(stats.transactions <= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    if (data[0] & 1) {
        fuzz_pop3(data[0], rest);
    } else {
        fuzz_smtp(data[0], rest);
    }
    return 0;
}
