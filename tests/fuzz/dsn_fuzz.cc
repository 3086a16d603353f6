// Fuzz target: bounces and delay warnings (appliance/delivery/dsn.h) built from what others chose:
// the remote server's reply and name, the recipient and sender addresses, the original message. The
// first byte picks the shape (failed or delayed, how many recipients, the header cap); the rest is
// split at NUL bytes into reply, remote MTA, address, status, sender, and the original message (the
// rest, NULs included). Checks: a built DSN is CRLF lines of at most 998 bytes with no NUL; it has
// its three MIME parts, the report part in 7bit; it holds nothing of the original body (another body
// gives the same DSN); enhanced_status_of() gives "" or a status of the reply's class.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "appliance/delivery/dsn.h"
#include "core/assert.h"

namespace {

using namespace vmx;

std::string_view take_field(std::string_view& rest) {
    const std::size_t nul = rest.find('\0');
    const std::string_view field = rest.substr(0, nul);
    rest = nul == std::string_view::npos ? std::string_view{} : rest.substr(nul + 1);
    return field;
}

void check_status(std::string_view reply) {
    const std::string status = enhanced_status_of(reply);
    if (status.empty()) return;
    VMX_ASSERT(status[0] == reply[0] && (status[0] == '2' || status[0] == '4' || status[0] == '5'));
    VMX_ASSERT(status.size() >= 5 && status.size() <= 9 && status[1] == '.');
    VMX_ASSERT(std::count(status.begin(), status.end(), '.') == 2);
    VMX_ASSERT(std::all_of(status.begin(), status.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); }));
}

void check_lines(std::string_view dsn) {
    VMX_ASSERT(dsn.ends_with("\r\n"));
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < dsn.size(); ++i) {
        VMX_ASSERT(dsn[i] != '\0');
        if (dsn[i] == '\r') VMX_ASSERT(i + 1 < dsn.size() && dsn[i + 1] == '\n');
        if (dsn[i] == '\n') {
            VMX_ASSERT(i > 0 && dsn[i - 1] == '\r');
            VMX_ASSERT(i - 1 - line_start <= 998);
            line_start = i + 1;
        }
    }
}

// Three parts, each opened by a "--boundary" line, then the closing line; the report part 7bit.
void check_parts(std::string_view dsn, const DsnInput& in) {
    const std::string open = "\r\n--=_dsn_" + in.message_id_unique + "\r\n";
    const std::string close = "\r\n--=_dsn_" + in.message_id_unique + "--\r\n";
    VMX_ASSERT(dsn.ends_with(close));
    std::size_t starts[3];
    std::size_t from = 0;
    for (std::size_t& s : starts) {
        s = dsn.find(open, from);
        VMX_ASSERT(s != std::string_view::npos);
        from = s + open.size();
    }
    VMX_ASSERT(dsn.find(open, from) == std::string_view::npos);
    VMX_ASSERT(dsn.find(close) == dsn.size() - close.size());
    const std::string_view report = dsn.substr(starts[1], starts[2] - starts[1]);
    VMX_ASSERT(std::all_of(report.begin(), report.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }));
    VMX_ASSERT(report.find("Content-Type: message/delivery-status\r\n") != std::string_view::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned choice = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    DsnRecipient r;
    r.reply = std::string(take_field(rest));
    r.remote_mta = std::string(take_field(rest));
    r.address = std::string(take_field(rest));
    r.status = std::string(take_field(rest));
    const std::string_view sender = take_field(rest);
    check_status(r.reply);

    DsnInput in;
    in.reporting_mta = "mx.example.net";
    in.postmaster = "MAILER-DAEMON@mx.example.net";
    in.original_sender = sender.empty() ? "alice@example.net" : std::string(sender);
    in.queue_id = "O0100000007";
    in.arrival_unix = 1795404000;
    in.now_unix = 1795404492 + static_cast<std::int64_t>(choice);
    in.original = rest;
    in.original_headers_bytes_max = choice & 0x10 ? 64 + choice : 64 * 1024;
    in.message_id_domain = "mx.example.net";
    in.message_id_unique = "0123456789abcdef";
    r.failed = choice & 1;
    for (unsigned i = 0; i < 1 + (choice >> 1) % 4; ++i) {
        in.recipients.push_back(r);
        r.failed = !r.failed;  // a mixed report when there are several
    }

    const auto dsn = build_dsn(in);
    if (!dsn) {
        VMX_ASSERT(dsn.error() == std::make_error_code(std::errc::invalid_argument));
        return 0;
    }
    check_lines(*dsn);
    check_parts(*dsn, in);
    // Nothing after the original's header section reaches the DSN.
    if (const std::size_t blank = rest.find("\r\n\r\n"); blank != std::string_view::npos && !rest.starts_with("\r\n")) {
        const std::string other = std::string(rest.substr(0, blank + 4)) + "other body\r\n";
        in.original = other;
        const auto again = build_dsn(in);
        VMX_ASSERT(again && *again == *dsn);
    }
    return 0;
}
