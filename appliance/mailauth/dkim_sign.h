// DkimSign: the DKIM-Signature (RFC 6376, RFC 8463) for one submitted message with libopendkim:
// relaxed/relaxed, the body hash over the whole body (no l=), the header fields of RFC 6376 5.4.1
// that are present, and the ones that must not be added later (From first) signed once more than
// they appear ("oversigning"), so an extra From: breaks the signature. Worker thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "appliance/mailauth/dkim_library.h"
#include "core/result.h"

namespace vmx {

struct DkimSigningKey;

class DkimSign {
public:
    static Result<std::unique_ptr<DkimSign>> create();

    // "DKIM-Signature: ...\r\n" (folded with CRLF TAB) to put on top of the message, or an error
    // (an unreadable key: std::errc::invalid_argument; the library failing: io_error).
    Result<std::string> sign(std::string_view message, std::string_view domain, const DkimSigningKey& key);

private:
    explicit DkimSign(DkimLibPtr lib) : lib_(std::move(lib)) {}
    DkimLibPtr lib_;
};

}  // namespace vmx
