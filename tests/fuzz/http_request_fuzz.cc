// Fuzz target: the HTTP/1.x request head parser (net/http/request_head.h) under small limits
// picked by the first byte. Checks: an incomplete head never holds more than head_bytes_max; a
// complete head ends within the limits with CRLF CRLF, its views lie inside the input, its
// version is one we serve and its method a token; and any verdict (complete or refused) is
// reached at one byte: every shorter prefix is incomplete, the bytes after it change nothing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/assert.h"
#include "net/http/request_head.h"

namespace {

using namespace vmx::http;

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

bool same(const RequestHead& a, const RequestHead& b) {
    return a.status == b.status && a.method == b.method && a.target == b.target && a.version == b.version &&
           a.head_bytes == b.head_bytes && a.header_fields == b.header_fields;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    HeadLimits limits;
    limits.request_line_bytes_max = 8 + (data[0] & 0x3F);
    limits.head_bytes_max = limits.request_line_bytes_max + 2 + (data[0] >> 6) * 64;
    limits.header_fields_max = data[0] & 0x7;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    const RequestHead r = parse_request_head(input, limits);
    if (r.status == HeadStatus::incomplete) VMX_ASSERT(input.size() <= limits.head_bytes_max);
    VMX_ASSERT((status_code_of(r.status) == 0) == (r.status == HeadStatus::incomplete || r.status == HeadStatus::complete));
    if (r.status == HeadStatus::incomplete) return 0;
    // The first prefix with a verdict has the verdict of the whole input (no limit lets it pass
    // head_bytes_max + 1 bytes undecided).
    std::size_t decided = 0;
    while (parse_request_head(input.substr(0, decided), limits).status == HeadStatus::incomplete) ++decided;
    VMX_ASSERT(decided <= limits.head_bytes_max + 1);
    VMX_ASSERT(same(parse_request_head(input.substr(0, decided), limits), r));
    if (r.status != HeadStatus::complete) return 0;
    VMX_ASSERT(decided == r.head_bytes);
    VMX_ASSERT(r.head_bytes >= 4 && r.head_bytes <= input.size() && r.head_bytes <= limits.head_bytes_max);
    VMX_ASSERT(input.substr(r.head_bytes - 4, 4) == "\r\n\r\n");
    VMX_ASSERT(r.header_fields <= limits.header_fields_max);
    VMX_ASSERT(inside(r.method, input) && inside(r.target, input) && inside(r.version, input));
    VMX_ASSERT(r.version == "HTTP/1.1" || r.version == "HTTP/1.0");
    VMX_ASSERT(!r.method.empty() && !r.target.empty());
    VMX_ASSERT(r.method.size() + r.target.size() + r.version.size() + 2 <= limits.request_line_bytes_max);
    return 0;
}
