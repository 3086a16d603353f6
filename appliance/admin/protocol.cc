// Admin socket frames (see admin_protocol.h).
#include "appliance/admin/protocol.h"

#include <string.h>

#include "core/byte_codec.h"

namespace vmx {
namespace {

std::vector<std::uint8_t> framed(const std::vector<std::uint8_t>& payload) {
    std::vector<std::uint8_t> frame;
    frame.reserve(payload.size() + 4);
    const auto n = static_cast<std::uint32_t>(payload.size());
    for (std::size_t i = 0; i < 4; ++i) frame.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

bool text_ok(std::string_view s, std::size_t bytes_max) { return s.size() <= bytes_max; }

}  // namespace

AdminRequest::~AdminRequest() {
    if (!secret.empty()) explicit_bzero(secret.data(), secret.size());
}

std::optional<std::string_view> AdminRequest::field(std::string_view name) const {
    for (const auto& [n, v] : fields)
        if (n == name) return std::string_view(v);
    return std::nullopt;
}

std::vector<std::string_view> AdminRequest::all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& [n, v] : fields)
        if (n == name) out.push_back(v);
    return out;
}

std::optional<std::vector<std::uint8_t>> encode_request(const AdminRequest& request) {
    if (!text_ok(request.command, admin_command_bytes_max) || request.fields.size() > admin_fields_max ||
        !text_ok(request.secret, admin_secret_bytes_max))
        return std::nullopt;
    std::vector<std::uint8_t> payload;
    ByteWriter w(payload);
    w.u8(admin_protocol_version);
    w.u8(request.json ? 1 : 0);
    w.str(request.command);
    w.u16(static_cast<std::uint16_t>(request.fields.size()));
    for (const auto& [name, value] : request.fields) {
        if (!text_ok(name, admin_command_bytes_max) || !text_ok(value, admin_value_bytes_max)) return std::nullopt;
        w.str(name);
        w.str(value);
    }
    w.str(request.secret);
    if (payload.size() > admin_request_bytes_max) return std::nullopt;
    auto frame = framed(payload);
    explicit_bzero(payload.data(), payload.size());  // it held the secret
    return frame;
}

std::optional<AdminRequest> decode_request(std::span<const std::uint8_t> payload) {
    if (payload.size() > admin_request_bytes_max) return std::nullopt;
    ByteReader r(payload);
    AdminRequest out;
    auto version = r.u8();
    auto flags = r.u8();
    auto command = r.str(admin_command_bytes_max);
    auto count = r.uint(2);
    if (!version || *version != admin_protocol_version || !flags || *flags > 1 || !command || !count ||
        *count > admin_fields_max)
        return std::nullopt;
    out.json = *flags == 1;
    out.command = std::move(*command);
    for (std::uint64_t i = 0; i < *count; ++i) {
        auto name = r.str(admin_command_bytes_max);
        auto value = r.str(admin_value_bytes_max);
        if (!name || !value) return std::nullopt;
        out.fields.emplace_back(std::move(*name), std::move(*value));
    }
    auto secret = r.str(admin_secret_bytes_max);
    if (!secret || !r.at_end()) {
        if (secret) explicit_bzero(secret->data(), secret->size());
        return std::nullopt;
    }
    out.secret = std::move(*secret);
    return out;
}

std::vector<std::uint8_t> encode_reply(const AdminReply& reply) {
    std::string_view text = reply.text;
    const std::size_t room = admin_reply_bytes_max - 6;
    if (text.size() > room) text = text.substr(0, room);  // a listing this large is cut, never refused
    std::vector<std::uint8_t> payload;
    ByteWriter w(payload);
    w.u8(admin_protocol_version);
    w.u8(static_cast<std::uint8_t>(reply.status));
    w.u32(static_cast<std::uint32_t>(text.size()));
    payload.insert(payload.end(), text.begin(), text.end());
    return framed(payload);
}

std::optional<AdminReply> decode_reply(std::span<const std::uint8_t> payload) {
    if (payload.size() > admin_reply_bytes_max) return std::nullopt;
    ByteReader r(payload);
    auto version = r.u8();
    auto status = r.u8();
    auto length = r.u32();
    if (!version || *version != admin_protocol_version || !status || *status > 4 || !length ||
        payload.size() - 6 != *length)
        return std::nullopt;
    AdminReply out;
    out.status = static_cast<AdminStatus>(*status);
    out.text.assign(reinterpret_cast<const char*>(payload.data() + 6), *length);
    return out;
}

std::uint32_t frame_length(std::span<const std::uint8_t, 4> prefix) noexcept {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < 4; ++i) n |= std::uint32_t{prefix[i]} << (8 * i);
    return n;
}

}  // namespace vmx
