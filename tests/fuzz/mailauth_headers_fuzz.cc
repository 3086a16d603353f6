// Fuzz target: the pure parts of mail authentication: header fields, the authserv-id of an
// Authentication-Results value, removing ours from a message, tag=value lists and DMARC record
// selection, formatting our field from hostile values, and DKIM's relaxed canonicalization. The first byte picks small limits.
// Checks: fields lie inside the input in order; stripping only removes bytes and, on a section
// within the limits, is idempotent; a parsed tag list has distinct valid names; our
// field always parses back as one header field with our authserv-id.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/assert.h"
#include "net/mailauth/auth_results.h"
#include "net/mailauth/dkim_canon.h"
#include "net/mailauth/header_fields.h"
#include "net/mailauth/tag_list.h"

namespace {

using namespace vmx::mailauth;

void check_fields(const HeaderSection& s, std::string_view message, const HeaderLimits& limits) {
    VMX_ASSERT(s.fields.size() <= limits.fields_max);
    std::size_t last = 0;
    for (const HeaderField& f : s.fields) {
        VMX_ASSERT(f.begin >= last && f.begin < f.end && f.end <= message.size());
        VMX_ASSERT(f.end <= limits.section_bytes_max);
        VMX_ASSERT(f.text.size() <= f.end - f.begin);
        last = f.end;
    }
    VMX_ASSERT(s.body_begin <= message.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned choice = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    HeaderLimits limits;
    if (choice & 1) {
        limits.section_bytes_max = 8 + (choice >> 1) * 4;
        limits.fields_max = 1 + (choice >> 5);
    }
    const HeaderSection section = header_fields(input, limits);
    check_fields(section, input, limits);

    const std::string_view id = "mx.example.com";
    const Stripped once = strip_auth_results(input, id, limits);
    VMX_ASSERT(once.message.size() <= input.size());
    VMX_ASSERT(once.removed > 0 || once.message == input);
    const Stripped twice = strip_auth_results(once.message, id, limits);
    if (section.complete) VMX_ASSERT(twice.removed == 0);  // a section cut by a limit may show more fields

    if (const auto found = authserv_id(input)) VMX_ASSERT(!found->empty() && found->size() <= input.size());

    if (const auto tags = parse_tag_list(input, 1 + choice % tags_max)) {
        for (std::size_t i = 0; i < tags->size(); ++i) {
            VMX_ASSERT(!(*tags)[i].name.empty());
            for (std::size_t j = 0; j < i; ++j) VMX_ASSERT((*tags)[i].name != (*tags)[j].name);
        }
    }
    (void)is_dmarc_record(input);

    // Our own field, built from hostile values, stays one field that names us.
    std::vector<ResultInfo> results{{"dkim", "fail", std::string(input), {{"header.d", std::string(input)}}}};
    const std::string section_text = format_auth_results(id, results) + "\r\n";
    const HeaderSection parsed = header_fields(section_text);
    VMX_ASSERT(parsed.complete && parsed.fields.size() == 1);
    VMX_ASSERT(authserv_id(parsed.fields[0].value) == std::string(id));

    // Relaxed canonicalization: no whitespace runs, no whitespace before a line end, and stable.
    const std::string body = relaxed_body(input);
    VMX_ASSERT(body.find("  ") == std::string::npos && body.find(" \r\n") == std::string::npos);
    VMX_ASSERT(body.empty() || (body.size() >= 2 && body.compare(body.size() - 2, 2, "\r\n") == 0));
    VMX_ASSERT(body.size() < 4 || body.compare(body.size() - 4, 4, "\r\n\r\n") != 0);
    VMX_ASSERT(relaxed_body(body) == body);
    const std::string header = relaxed_header(input);
    VMX_ASSERT(header.size() >= 3 && header.compare(header.size() - 2, 2, "\r\n") == 0);
    return 0;
}
