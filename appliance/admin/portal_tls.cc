// The portal's own requests: HTTP-01 answers and certificates (see portal_tls.h).
#include "appliance/admin/portal_tls.h"

#include <fmt/format.h>

#include "appliance/acme/challenge_board.h"
#include "appliance/admin/command_helpers.h"
#include "appliance/common/json_text.h"

namespace vmx {

AdminReply portal_acme_challenge(const PortalContext& context, const AdminRequest& request) {
    const std::string_view token = request.field("token").value_or("");
    if (context.acme == nullptr || !valid_acme_token(token)) return admin::refused("no such challenge");
    auto answer = context.acme->board().find(token);
    if (!answer) return admin::refused("no such challenge");
    return admin::ok(std::move(*answer));
}

AdminReply portal_tls_certificates(const PortalContext& context, const AdminRequest& request) {
    const std::uint64_t generation = context.acme == nullptr ? 0 : context.acme->generation();
    if (request.field("have").value_or("") == std::to_string(generation))
        return admin::ok(fmt::format(R"({{"generation":{},"unchanged":true}})", generation));
    std::string out;
    if (context.acme != nullptr)
        for (const StoredCertificate& c : context.acme->certificates()) {
            std::string names;
            for (const auto& n : c.info.names) names += (names.empty() ? "" : ",") + json_string(n);
            const auto key = c.pem->key_pem.view();
            out += fmt::format(R"({}{{"names":[{}],"chain":{},"key":{}}})", out.empty() ? "" : ",", names,
                               json_string(c.pem->chain_pem),
                               json_string(std::string_view(reinterpret_cast<const char*>(key.data()), key.size())));
        }
    return admin::ok(fmt::format(R"({{"generation":{},"certificates":[{}]}})", generation, out));
}

}  // namespace vmx
