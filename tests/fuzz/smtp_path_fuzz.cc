// Fuzz target: the SMTP argument parsers (net/smtp/path.h) and the Received: header built from
// what a client said (net/smtp/received.h). The input is what follows "MAIL FROM:" or "RCPT TO:".
// Checks: every view lies inside the input; a mailbox is its local part, "@" and domain, and (with
// a local part the session accepts) parses the same when written back in brackets; parameters are
// valid keywords, within params_max; a Received: header made of hostile fields is one header field
// of CRLF lines with no control byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "core/patterns.h"
#include "net/smtp/headers.h"
#include "net/smtp/path.h"
#include "net/smtp/received.h"

namespace {

using namespace vmx::smtp;

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void check_path(const Path& p, std::string_view text) {
    VMX_ASSERT(inside(p.mailbox, text) && inside(p.local_part, text) && inside(p.domain, text));
    VMX_ASSERT(inside(p.params, text));
    VMX_ASSERT(p.params.empty() || p.params.front() != ' ');
    if (p.mailbox.empty()) {
        VMX_ASSERT(p.local_part.empty() && p.domain.empty());
        return;
    }
    VMX_ASSERT(!p.local_part.empty());
    if (p.domain.empty()) {
        VMX_ASSERT(p.local_part == p.mailbox);
    } else {
        VMX_ASSERT(p.mailbox.size() == p.local_part.size() + 1 + p.domain.size());
        VMX_ASSERT(p.mailbox.starts_with(p.local_part) && p.mailbox.ends_with(p.domain));
        VMX_ASSERT(p.mailbox[p.local_part.size()] == '@');
    }
    // Written back in brackets, a mailbox the session would take (its local part valid: parse_path
    // leaves that to the session) parses to itself, the source route gone.
    if (!vmx::matches(vmx::Pattern::local_part_smtp, p.local_part) &&
        !vmx::matches(vmx::Pattern::local_part_utf8, p.local_part))
        return;
    const std::string again_text = "<" + std::string(p.mailbox) + ">";
    Path again;
    VMX_ASSERT(parse_path(again_text, again));
    VMX_ASSERT(again.mailbox == p.mailbox && again.local_part == p.local_part && again.domain == p.domain);
    VMX_ASSERT(!again.source_route && again.params.empty());
}

void check_params(const Params& params) {
    VMX_ASSERT(params.count <= params_max);
    for (std::size_t i = 0; i < params.count; ++i) {
        const Param& item = params.items[i];
        VMX_ASSERT(vmx::matches(vmx::Pattern::esmtp_keyword, item.keyword));
        VMX_ASSERT(item.has_value ? vmx::matches(vmx::Pattern::esmtp_value, item.value) : item.value.empty());
    }
}

// One field: "Received:" then continuation lines that start with a tab, every line CRLF, no other
// control byte, and the header scanner counts exactly one Received: field in it.
void check_received(const std::string& field) {
    VMX_ASSERT(field.starts_with("Received: ") && field.ends_with("\r\n"));
    for (std::size_t i = 0; i < field.size(); ++i) {
        const auto c = static_cast<unsigned char>(field[i]);
        if (c == '\r') VMX_ASSERT(i + 1 < field.size() && field[i + 1] == '\n');
        else if (c == '\n') VMX_ASSERT(i + 1 == field.size() || field[i + 1] == '\t');
        else if (c == '\t') VMX_ASSERT(field[i - 1] == '\n');
        else VMX_ASSERT(c >= 0x20 && c != 0x7f);
    }
    const HeaderSummary s = scan_headers(field + "\r\nbody\r\n", HeaderLimits{});
    VMX_ASSERT(s.problem == HeaderProblem::none && s.received_fields == 1 && s.section_bytes == field.size() + 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    Path path;
    if (parse_path(text, path)) {
        check_path(path, text);
        Params params;
        if (parse_params(path.params, params)) check_params(params);
    }
    Params params;
    if (parse_params(text, params)) check_params(params);

    ReceivedInfo info;
    info.helo_name = text;
    info.client_name = text;
    info.client_address = text;
    info.hostname = "mx.example.net";
    info.queue_id = text;
    info.recipient = path.mailbox.empty() ? text : path.mailbox;
    info.tls_version = text.substr(0, size / 2);
    info.tls_cipher = text.substr(size / 2);
    info.esmtp = size % 2 == 0;
    info.authenticated = size % 3 == 0;
    info.hide_client = size % 5 == 0;
    info.date_unix = static_cast<std::int64_t>(size) * 86399;
    check_received(received_header(info));
    return 0;
}
