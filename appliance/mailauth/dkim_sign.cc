// DKIM signing (see dkim_sign.h).
#include "appliance/mailauth/dkim_sign.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "appliance/mailauth/dkim_keyring.h"
#include "net/mailauth/dkim_canon.h"
#include "net/mailauth/header_fields.h"

namespace vmx {
namespace {

// RFC 6376 5.4.1's list; those the message has are signed.
constexpr std::array<std::string_view, 25> signed_fields = {
    "from", "reply-to", "subject", "date", "to", "cc", "resent-date", "resent-from", "resent-to", "resent-cc",
    "in-reply-to", "references", "list-id", "list-help", "list-unsubscribe", "list-subscribe", "list-post",
    "list-owner", "list-archive", "message-id", "mime-version", "content-type", "content-transfer-encoding",
    "content-id", "content-description"};
// Signed one more time than they appear (RFC 6376 8.15): a copy added on the way breaks the signature.
constexpr std::array<std::string_view, 9> oversigned_fields = {"from", "reply-to", "subject", "date", "to", "cc",
                                                                "message-id", "mime-version", "content-type"};

constexpr std::size_t line_bytes_max = 78;  // RFC 5322 2.1.1's recommendation, for the folded field

// The h= list: each signed name as often as it appears, oversigned names once more.
std::vector<std::string> header_names(const std::vector<mailauth::HeaderField>& fields) {
    std::vector<std::string> names;
    for (const std::string_view name : signed_fields) {
        const auto count = std::count_if(fields.begin(), fields.end(),
                                         [&](const mailauth::HeaderField& f) { return mailauth::same_name(f.name, name); });
        const bool over = std::find(oversigned_fields.begin(), oversigned_fields.end(), name) != oversigned_fields.end();
        for (std::ptrdiff_t i = 0; i < count + (over ? 1 : 0); ++i) names.emplace_back(name);
    }
    return names;
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) {
        if (!out.empty()) out += ':';
        out += n;
    }
    return out;
}

// "DKIM-Signature: tag; tag; ...": a tag that does not fit the line starts the next one (CRLF TAB in
// place of the space; relaxed canonicalization makes it a space again on both sides).
std::string folded(const std::vector<std::string>& tags) {
    std::string out = "DKIM-Signature:";
    std::size_t line = out.size();
    for (std::size_t i = 0; i < tags.size(); ++i) {
        const std::string& tag = tags[i];
        const std::size_t need = 1 + tag.size() + (i + 1 < tags.size() ? 1 : 0);
        if (line + need > line_bytes_max && line > 1) {
            out += "\r\n\t";
            line = 1;
        } else {
            out += ' ';
            ++line;
        }
        out += tag;
        line += tag.size();
        if (i + 1 < tags.size()) {
            out += ';';
            ++line;
        }
    }
    return out;
}

// The b= value on lines of its own (whitespace inside b= is ignored: RFC 6376 3.5).
std::string folded_signature(std::string_view b) {
    std::string out;
    constexpr std::size_t chunk = 72;
    for (std::size_t at = 0; at < b.size(); at += chunk) {
        out += "\r\n\t ";
        out += b.substr(at, chunk);
    }
    return out;
}

}  // namespace

Result<std::string> dkim_sign(std::string_view message, std::string_view domain, const DkimSigningKey& key,
                              std::int64_t now_unix) {
    mailauth::HeaderLimits limits;
    limits.section_bytes_max = message.size();
    const mailauth::HeaderSection section = mailauth::header_fields(message, limits);
    const std::vector<std::string> names = header_names(section.fields);
    const std::string body_hash = crypto::dkim_body_hash(mailauth::relaxed_body(message.substr(section.body_begin)));
    const bool rsa = key.algorithm == crypto::DkimAlgorithm::rsa_sha256;
    const std::vector<std::string> tags = {
        "v=1",
        rsa ? "a=rsa-sha256" : "a=ed25519-sha256",
        "c=relaxed/relaxed",
        fmt::format("d={}", domain),
        fmt::format("s={}", key.selector),
        fmt::format("t={}", now_unix),
        fmt::format("h={}", joined(names)),
        fmt::format("bh={}", body_hash),
        "b=",
    };
    const std::string unsigned_field = folded(tags);
    // RFC 6376 3.7: the selected fields, then this field with an empty b= and no final line break.
    std::string data = mailauth::signed_headers(section.fields, names);
    std::string own = mailauth::relaxed_header(unsigned_field);
    own.resize(own.size() - 2);
    data += own;
    auto signature = crypto::dkim_signature(key.algorithm, key.private_pem.view(), data);
    if (!signature) return fail(signature.error());
    return unsigned_field + folded_signature(*signature) + "\r\n";
}

}  // namespace vmx
