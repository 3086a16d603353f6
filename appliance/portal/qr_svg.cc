// QR codes as SVG (see qr_svg.h).
#include "appliance/portal/qr_svg.h"

#include <fmt/format.h>
#include <qrencode.h>

#include <memory>

namespace vmx::portal {
namespace {

struct QrFree {
    void operator()(QRcode* code) const noexcept { QRcode_free(code); }
};

constexpr int quiet_zone = 4;  // modules of white border a reader needs (ISO/IEC 18004)

}  // namespace

std::optional<std::string> qr_svg(std::string_view text) {
    const std::string copy(text);  // libqrencode wants a NUL-terminated string
    std::unique_ptr<QRcode, QrFree> code(QRcode_encodeString(copy.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
    if (!code) return std::nullopt;
    const int width = code->width;
    const int size = width + 2 * quiet_zone;
    std::string out = fmt::format(R"(<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {0}" )"
                                  R"(shape-rendering="crispEdges" role="img" aria-label="QR code">)"
                                  R"(<rect width="{0}" height="{0}" fill="#fff"/><path fill="#000" d=")",
                                  size);
    for (int y = 0; y < width; ++y)
        for (int x = 0; x < width; ++x)
            if (code->data[y * width + x] & 1) out += fmt::format("M{} {}h1v1h-1z", x + quiet_zone, y + quiet_zone);
    out += R"("/></svg>)";
    return out;
}

}  // namespace vmx::portal
