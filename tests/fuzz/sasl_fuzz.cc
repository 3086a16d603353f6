// Fuzz target: SASL PLAIN as both sides speak it (net/sasl). The first byte picks the limits; the
// rest goes to base64_decode_secret() as a client's response, and, raw, to parse_plain() as a
// decoded message. Checks: strict base64 is canonical (what decodes encodes back to the same text)
// and within its limit; parse_plain() accepts only a valid name and a password without NUL within
// their limits, and what it accepts is what our own client would have sent for those credentials.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "crypto/secret_bytes.h"
#include "net/sasl/sasl_client.h"
#include "net/sasl/sasl_plain.h"

namespace {

using vmx::crypto::SecretBytes;
using namespace vmx::sasl;

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void check_plain(const SecretBytes& message, std::size_t username_max, std::size_t secret_max) {
    const PlainResult r = parse_plain(message, username_max, secret_max);
    const auto m = message.view();
    const auto nuls = std::count(m.begin(), m.end(), std::uint8_t{0});
    if (!r.credentials) {
        if (r.error == PlainError::authzid_differs) VMX_ASSERT(nuls == 2 && m.front() != 0);
        return;
    }
    const PlainCredentials& c = *r.credentials;
    VMX_ASSERT(nuls == 2);
    VMX_ASSERT(valid_username(c.authcid, username_max));
    VMX_ASSERT(!c.password.empty() && c.password.size() <= secret_max);
    VMX_ASSERT(plain_sendable(c.authcid, c.password));
    // Our client's response for these credentials decodes to a message that parses to them again.
    std::string response;
    plain_response(c.authcid, c.password, response);
    const auto decoded = base64_decode_secret(response, m.size() + 2);
    VMX_ASSERT(decoded.has_value());
    const PlainResult again = parse_plain(*decoded, username_max, secret_max);
    VMX_ASSERT(again.credentials && again.credentials->authcid == c.authcid);
    VMX_ASSERT(same(again.credentials->password.view(), c.password.view()));
    // Without an authzid that is the message itself; with one, the message ends the same way.
    const auto tail = decoded->view();
    VMX_ASSERT(m.size() >= tail.size() && same(m.subspan(m.size() - tail.size()), tail));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned choice = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t bytes_max = choice & 1 ? 1 + choice % 64 : 4096;
    const std::size_t username_max = 1 + (choice >> 2) % 32;
    const std::size_t secret_max = 1 + (choice >> 4) * 16;

    if (const auto decoded = base64_decode_secret(text, bytes_max)) {
        VMX_ASSERT(decoded->size() <= bytes_max);
        std::string again;
        base64_encode(decoded->view(), again);
        VMX_ASSERT(again == text);
        check_plain(*decoded, username_max, secret_max);
    }
    // The other way round: whatever our client encodes, the server decodes to the same bytes.
    std::string encoded;
    base64_encode(bytes_of(text), encoded);
    if (!text.empty()) {
        const auto back = base64_decode_secret(encoded, text.size());
        VMX_ASSERT(back.has_value() && same(back->view(), bytes_of(text)));
        VMX_ASSERT(!base64_decode_secret(encoded, text.size() - 1).has_value());
    }
    check_plain(SecretBytes::copy_of(bytes_of(text)), username_max, secret_max);
    return 0;
}
