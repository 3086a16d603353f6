// The portal's own static files, compiled in (no file the portal process would have to read, and
// nothing from another origin): the style sheet and the one script. Any thread.
#pragma once

#include <string_view>

namespace vmx::portal {

std::string_view portal_stylesheet() noexcept;
// The browser's half of security keys: navigator.credentials.create() and .get() (portal_keys_pages.cc).
std::string_view webauthn_script() noexcept;

}  // namespace vmx::portal
