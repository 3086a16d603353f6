// The portal's own static files, compiled in (no file the portal process would have to read, and
// nothing from another origin): the style sheet. Any thread.
#pragma once

#include <string_view>

namespace vmx::portal {

std::string_view portal_stylesheet() noexcept;

}  // namespace vmx::portal
