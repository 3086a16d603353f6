// Reading the configuration file (see config.h): bounded, then parsed by parse_config.
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <system_error>

#include "appliance/config/config.h"
#include "appliance/config/config_detail.h"

namespace vmx {
namespace {

using config_detail::printable;

constexpr std::size_t kConfigBytesMax = std::size_t{1} << 20;  // a config file is a few kilobytes

std::variant<std::string, ConfigError> read_file(const std::string& path) {
    struct FileClose {
        // Only read from, and ferror() checked that: a failed close loses nothing.
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }  // NOLINT(cert-err33-c)
    };
    const auto cannot_read = [&](int err) {
        return ConfigError{fmt::format("{}: cannot read: {}", printable(path), std::system_category().message(err))};
    };
    const std::unique_ptr<std::FILE, FileClose> file(std::fopen(path.c_str(), "rbe"));
    if (!file) return cannot_read(errno);
    std::string text;
    std::array<char, 8192> chunk{};
    for (;;) {
        const std::size_t got = std::fread(chunk.data(), 1, chunk.size(), file.get());
        text.append(chunk.data(), got);
        if (text.size() > kConfigBytesMax)
            return ConfigError{fmt::format("{}: larger than {} bytes; is this the config file?", printable(path),
                                           kConfigBytesMax)};
        if (got < chunk.size()) break;
    }
    if (std::ferror(file.get()) != 0) return cannot_read(errno);
    return text;
}

}  // namespace

std::variant<Config, ConfigError> load_config_file(const std::string& path) {
    try {
        auto text = read_file(path);
        if (auto* error = std::get_if<ConfigError>(&text)) return std::move(*error);
        return parse_config(std::get<std::string>(text), path);
    } catch (const std::exception& e) {
        return ConfigError{fmt::format("{}: cannot read: {}", printable(path), printable(e.what()))};
    }
}

std::optional<Config> load_config_or_report(std::string_view program, const std::string& path) {
    auto loaded = load_config_file(path);
    if (auto* error = std::get_if<ConfigError>(&loaded)) {
        std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(), error->message.c_str());
        return std::nullopt;
    }
    return std::get<Config>(std::move(loaded));
}

}  // namespace vmx
