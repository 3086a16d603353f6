// The admin socket's wire format, shared by the `vaultmx` CLI and the daemon. One request and one
// reply per connection, each a frame: u32 little-endian payload length, then the payload.
//   request payload: u8 version (1), u8 flags (bit 0: JSON output), str command ("user add"),
//                    u16 field count, (str name, str value) per field, str secret (a password read
//                    from stdin, or empty)
//   reply payload:   u8 version (1), u8 status (AdminStatus), u32 length + text
// A streamed answer (`user export`) is any number of reply frames with status `part`, each a piece
// of the output, then one ordinary reply frame that ends it (ok, or why it stopped).
// str = u16 length + bytes. Pure functions; any thread. Decoding checks every limit before it
// copies anything; the secret never appears in logs, audit entries or replies.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vmx {

inline constexpr std::uint8_t admin_protocol_version = 1;
inline constexpr std::size_t admin_request_bytes_max = std::size_t{64} * 1024;
inline constexpr std::size_t admin_reply_bytes_max = std::size_t{64} * 1024 * 1024;
inline constexpr std::size_t admin_fields_max = 128;
inline constexpr std::size_t admin_value_bytes_max = 4096;
inline constexpr std::size_t admin_command_bytes_max = 64;
inline constexpr std::size_t admin_secret_bytes_max = 4096;  // an appliance secret's value; passwords stop at 1024

enum class AdminStatus : std::uint8_t {
    ok = 0,
    refused = 1,    // bad input, unknown name, a rule said no: the admin can fix the request
    failed = 2,     // the daemon could not do it (storage, keys): try again or look at the log
    forbidden = 3,  // the peer may not use the admin socket
    part = 4,       // a piece of a streamed answer: more frames follow, the last one not a part
};

struct AdminRequest {
    AdminRequest() = default;
    AdminRequest(const AdminRequest&) = delete;
    AdminRequest& operator=(const AdminRequest&) = delete;
    AdminRequest(AdminRequest&&) = default;
    AdminRequest& operator=(AdminRequest&&) = default;
    ~AdminRequest();  // wipes the secret

    std::string command;
    std::vector<std::pair<std::string, std::string>> fields;  // in order; a name may repeat
    std::string secret;
    bool json = false;

    // The first value of a field, or nothing.
    std::optional<std::string_view> field(std::string_view name) const;
    // Every value of a (repeatable) field.
    std::vector<std::string_view> all(std::string_view name) const;
    bool has(std::string_view name) const { return field(name).has_value(); }
};

class AdminStream;  // server.h

struct AdminReply {
    AdminStatus status = AdminStatus::ok;
    std::string text;
    // Never sent: arguments the daemon chose for the command (a default `--selector`), appended to
    // its audit entry after the request's own.
    std::vector<std::string> audit_notes{};
    // Never sent as such: with status ok, the answer is this stream's parts and its last frame
    // (the text is not sent). The command is audited when the stream starts.
    std::shared_ptr<AdminStream> stream{};
};

// A whole frame (length prefix included). Requests over the limits are refused (nullopt).
std::optional<std::vector<std::uint8_t>> encode_request(const AdminRequest& request);
std::vector<std::uint8_t> encode_reply(const AdminReply& reply);
// The payload, without the length prefix.
std::optional<AdminRequest> decode_request(std::span<const std::uint8_t> payload);
std::optional<AdminReply> decode_reply(std::span<const std::uint8_t> payload);
// The payload length from the 4-byte prefix.
std::uint32_t frame_length(std::span<const std::uint8_t, 4> prefix) noexcept;

}  // namespace vmx
