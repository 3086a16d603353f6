// Notices to the admin (see notice_mail.h).
#include "appliance/delivery/notice_mail.h"

#include <fmt/format.h>

#include <ctime>
#include <memory>

#include "appliance/delivery/generated_mail.h"
#include "core/patterns.h"
#include "net/smtp/received.h"

namespace vmx {
namespace {

// Printable ASCII and tabs stay; anything else (a CR, an LF, a UTF-8 byte) becomes '?'.
std::string ascii_text(std::string_view text, std::size_t bytes_max) {
    std::string out;
    for (const char c : text.substr(0, bytes_max)) out += (c == '\t' || (c >= 0x20 && c <= 0x7e)) ? c : '?';
    return out;
}

bool is_token(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (const char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    return true;
}

}  // namespace

Result<std::string> build_notice(const NoticeInput& in) {
    if (!matches(Pattern::address, in.to) || !matches(Pattern::domain, in.hostname) || !is_token(in.unique))
        return fail(std::make_error_code(std::errc::invalid_argument));
    std::string out;
    out += "Date: " + smtp::rfc5322_date(in.now_unix) + "\r\n";
    out += fmt::format("From: vaultmx <MAILER-DAEMON@{}>\r\n", in.hostname);
    out += fmt::format("To: <{}>\r\n", in.to);
    out += "Subject: " + ascii_text(in.subject, notice_subject_bytes_max) + "\r\n";
    out += fmt::format("Message-ID: <{}@{}>\r\n", in.unique, in.hostname);
    out += "Auto-Submitted: auto-generated\r\n";
    out += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n";
    std::size_t written = 0;
    for (const std::string& line : in.lines) {
        if (written++ == notice_lines_max) break;
        out += ascii_text(line, notice_line_bytes_max) + "\r\n";
    }
    return out;
}

void NoticeMailer::send(std::string to, std::string subject, std::vector<std::string> lines,
                        std::function<void(bool queued, const std::string& queue_id)> done) {
    NoticeInput input;
    input.hostname = hostname_;
    input.to = to;
    input.subject = std::move(subject);
    input.lines = std::move(lines);
    input.now_unix = static_cast<std::int64_t>(std::time(nullptr));
    input.unique = random_hex(12);
    auto message = build_notice(input);
    if (!message) return done(false, {});
    GeneratedMail mail;
    mail.to = std::move(to);
    mail.message_id = fmt::format("{}@{}", input.unique, hostname_);
    mail.body = std::make_shared<const std::string>(std::move(*message));
    mail.now_unix = input.now_unix;
    queue_generated_mail(store_, directory_, reads_, local_, outbound_, std::move(mail),
                         [done = std::move(done)](AcceptOutcome outcome, const std::string& queue_id, bool) {
                             done(outcome == AcceptOutcome::stored, queue_id);
                         });
}

}  // namespace vmx
