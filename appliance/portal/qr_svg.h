// A QR code as inline SVG markup (libqrencode; error correction M), for the TOTP enrolment page: an
// element in the page, not an image from anywhere, so the CSP stays `img-src 'self'` with no data:
// URL. Any thread. The text it encodes holds a secret: the markup is sent once and never logged.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vmx::portal {

// nullopt when libqrencode refuses (the text is too long for a QR code, or out of memory).
std::optional<std::string> qr_svg(std::string_view text);

}  // namespace vmx::portal
