// Envelope encoding (see envelope.h). The writer and the reader check the same limits through one
// function, so nothing can be written that cannot be read back.
#include "store/envelope.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "core/byte_codec.h"
#include "store/errc.h"

namespace vmx::store {
namespace {

enum class Text : std::uint8_t { line, reply };

// Line fields (addresses, client, TLS, message id) take no control bytes, so they cannot inject
// into a log line or a header; a reply may span lines (CR LF) but holds no NUL.
bool text_ok(std::string_view s, std::size_t bytes_max, Text kind) noexcept {
    if (s.size() > bytes_max) return false;
    return std::none_of(s.begin(), s.end(), [kind](char c) {
        const auto b = static_cast<unsigned char>(c);
        if (kind == Text::reply) return b == 0;
        return b < 0x20 || b == 0x7f;
    });
}

bool valid(const Recipient& r) noexcept {
    return !r.address.empty() && text_ok(r.address, envelope_address_bytes_max, Text::line) &&
           static_cast<std::uint8_t>(r.state) <= recipient_state_max &&
           text_ok(r.reply, envelope_reply_bytes_max, Text::reply);
}

bool valid(const Envelope& e) noexcept {
    if (e.recipients.empty() || e.recipients.size() > envelope_recipients_max) return false;
    if (!text_ok(e.sender, envelope_address_bytes_max, Text::line) ||
        !text_ok(e.client_address, envelope_client_bytes_max, Text::line) ||
        !text_ok(e.tls_version, envelope_tls_bytes_max, Text::line) ||
        !text_ok(e.tls_cipher, envelope_tls_bytes_max, Text::line) ||
        !text_ok(e.message_id, envelope_message_id_bytes_max, Text::line))
        return false;
    return std::all_of(e.recipients.begin(), e.recipients.end(), [](const Recipient& r) { return valid(r); });
}

using Writer = ByteWriter;
using Reader = ByteReader;

std::optional<Recipient> read_recipient(Reader& r) {
    Recipient out;
    auto address = r.str(envelope_address_bytes_max);
    auto state = r.uint(1);
    auto user = r.uint(8);
    auto attempts = r.uint(4);
    auto next_try = r.uint(8);
    if (!address || !state || !user || !attempts || !next_try || *state > recipient_state_max) return std::nullopt;
    auto reply = r.str(envelope_reply_bytes_max);
    if (!reply) return std::nullopt;
    out.address = std::move(*address);
    out.state = static_cast<RecipientState>(*state);
    out.user_id = *user;
    out.attempts = static_cast<std::uint32_t>(*attempts);
    out.next_try_unix = static_cast<std::int64_t>(*next_try);
    out.reply = std::move(*reply);
    return out;
}

std::optional<Envelope> read_envelope(Reader& r) {
    Envelope e;
    auto version = r.uint(1);
    if (!version || *version != envelope_format_version) return std::nullopt;
    auto arrival = r.uint(8);
    auto sender = r.str(envelope_address_bytes_max);
    auto client = r.str(envelope_client_bytes_max);
    auto tls_version = r.str(envelope_tls_bytes_max);
    auto tls_cipher = r.str(envelope_tls_bytes_max);
    auto message_id = r.str(envelope_message_id_bytes_max);
    auto count = r.uint(2);
    if (!arrival || !sender || !client || !tls_version || !tls_cipher || !message_id || !count) return std::nullopt;
    if (*count == 0 || *count > envelope_recipients_max) return std::nullopt;
    e.arrival_unix = static_cast<std::int64_t>(*arrival);
    e.sender = std::move(*sender);
    e.client_address = std::move(*client);
    e.tls_version = std::move(*tls_version);
    e.tls_cipher = std::move(*tls_cipher);
    e.message_id = std::move(*message_id);
    e.recipients.reserve(static_cast<std::size_t>(*count));
    for (std::uint64_t i = 0; i < *count; ++i) {
        auto rcpt = read_recipient(r);
        if (!rcpt) return std::nullopt;
        e.recipients.push_back(std::move(*rcpt));
    }
    return e;
}

}  // namespace

bool Envelope::done() const noexcept {
    return std::all_of(recipients.begin(), recipients.end(), [](const Recipient& r) { return r.done(); });
}

Result<std::vector<std::uint8_t>> encode_envelope(const Envelope& e) {
    if (!valid(e)) return fail(StoreErrc::invalid_request);
    std::vector<std::uint8_t> out;
    Writer w(out);
    w.u8(envelope_format_version);
    w.i64(e.arrival_unix);
    w.str(e.sender);
    w.str(e.client_address);
    w.str(e.tls_version);
    w.str(e.tls_cipher);
    w.str(e.message_id);
    w.u16(static_cast<std::uint16_t>(e.recipients.size()));
    for (const Recipient& r : e.recipients) {
        w.str(r.address);
        w.u8(static_cast<std::uint8_t>(r.state));
        w.u64(r.user_id);
        w.u32(r.attempts);
        w.i64(r.next_try_unix);
        w.str(r.reply);
    }
    return out;
}

Result<Envelope> decode_envelope(std::span<const std::uint8_t> bytes) {
    Reader r(bytes);
    auto e = read_envelope(r);
    // Content rules (no control bytes, non-empty addresses) are checked by the same valid() the
    // writer uses, so every decodable envelope re-encodes to the same bytes.
    if (!e || !r.at_end() || !valid(*e)) return fail(StoreErrc::corrupt);
    return std::move(*e);
}

}  // namespace vmx::store
