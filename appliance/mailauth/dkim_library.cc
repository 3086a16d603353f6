// libopendkim set-up and message feeding (see dkim_library.h).
#include "appliance/mailauth/dkim_library.h"

#include <cstddef>
#include <cstdlib>

#include "crypto/secret_bytes.h"
#include "net/mailauth/header_fields.h"

namespace vmx {
namespace {

// libopendkim copies the signing key into memory from these: each block remembers its size so that
// it is wiped when the library frees it (crypto::secure_wipe), as SecretBytes would be.
void* wiping_malloc(void* /*closure*/, std::size_t bytes) {
    auto* block = static_cast<std::size_t*>(std::malloc(bytes + sizeof(std::max_align_t)));
    if (block == nullptr) return nullptr;
    *block = bytes;
    return reinterpret_cast<std::byte*>(block) + sizeof(std::max_align_t);
}

void wiping_free(void* /*closure*/, void* p) {
    if (p == nullptr) return;
    auto* block = reinterpret_cast<std::byte*>(p) - sizeof(std::max_align_t);
    crypto::secure_wipe(p, *reinterpret_cast<std::size_t*>(block));
    std::free(block);
}

std::uint8_t* bytes(std::string_view s) {
    // libopendkim takes u_char* but only reads these buffers.
    return reinterpret_cast<std::uint8_t*>(const_cast<char*>(s.data()));
}

}  // namespace

DkimLibPtr open_dkim_library() {
    DkimLibPtr lib(dkim_init(&wiping_malloc, &wiping_free));
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
