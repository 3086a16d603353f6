// What config.cc and config_file.cc share, and nothing else includes.
#pragma once

#include <string>
#include <string_view>

namespace vmx::config_detail {

// Text from the file or the command line, made safe for a one-line message (control bytes as \xNN).
std::string printable(std::string_view s);

}  // namespace vmx::config_detail
