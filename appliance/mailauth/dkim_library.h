// What the DKIM verifier needs of libopendkim: a library handle per thread (RAII) and feeding it a
// message (each header field, the end of the header, the body). Worker thread only.
#pragma once

// dkim.h is C99 (it declares _Bool parameters), and has no C++ guard of its own.
#define _Bool bool  // NOLINT(bugprone-reserved-identifier): C's own keyword
extern "C" {
#include <opendkim/dkim.h>
}
#undef _Bool

#include <memory>
#include <string_view>

#include "core/c_free.h"

namespace vmx {

using DkimLibPtr = std::unique_ptr<DKIM_LIB, CFree<dkim_close>>;
using DkimPtr = std::unique_ptr<DKIM, CFree<dkim_free>>;

// A handle with our defaults: no temporary files, no caching, no ADSP/ATPS look-ups; null on failure.
DkimLibPtr open_dkim_library();

// Feeds the message's header fields (as they are, with their folding), then its body, and ends it.
// Returns the status of the last call that did not return DKIM_STAT_OK, or of dkim_eom.
DKIM_STAT feed_message(DKIM* dkim, std::string_view message);

}  // namespace vmx
