// libopendkim set-up and message feeding (see dkim_library.h).
#include "appliance/mailauth/dkim_library.h"

#include "net/mailauth/header_fields.h"

namespace vmx {
namespace {

std::uint8_t* bytes(std::string_view s) {
    // libopendkim takes u_char* but only reads these buffers.
    return reinterpret_cast<std::uint8_t*>(const_cast<char*>(s.data()));
}

}  // namespace

DkimLibPtr open_dkim_library() {
    DkimLibPtr lib(dkim_init(nullptr, nullptr));
    if (!lib) return lib;
    // Handles for signatures that fail to parse, so that they are reported as permerror, not lost.
    unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
    if (dkim_options(lib.get(), DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK) return nullptr;
    return lib;
}

DKIM_STAT feed_message(DKIM* dkim, std::string_view message) {
    mailauth::HeaderLimits limits;
    limits.section_bytes_max = message.size();
    const mailauth::HeaderSection section = mailauth::header_fields(message, limits);
    for (const mailauth::HeaderField& f : section.fields) {
        // A field the library refuses (a bad DKIM-Signature) is its to report per signature.
        (void)dkim_header(dkim, bytes(f.text), f.text.size());
    }
    DKIM_STAT status = dkim_eoh(dkim);
    if (status != DKIM_STAT_OK) return status;
    const std::string_view body = message.substr(section.body_begin);
    if (!body.empty()) {
        status = dkim_body(dkim, bytes(body), body.size());
        if (status != DKIM_STAT_OK) return status;
    }
    return dkim_eom(dkim, nullptr);
}

}  // namespace vmx
