// DkimVerify: every DKIM-Signature of an incoming message checked with libopendkim (RFC 6376), the
// keys fetched through the message's DnsBudget by a key-lookup callback of ours. At most
// signatures_max signatures are checked (the rest are ignored before any key is fetched); RSA keys
// under key_bits_min fail and rsa-sha1 never passes (RFC 8301). Worker thread only, one per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/mailauth/dkim_library.h"
#include "core/result.h"

namespace vmx {

class DnsBudget;

enum class DkimResult : std::uint8_t { pass, fail, neutral, policy, temperror, permerror };
const char* to_string(DkimResult result) noexcept;  // as RFC 8601 writes them

struct DkimSignatureResult {
    DkimResult result = DkimResult::permerror;
    std::string domain;    // d=, lower case; empty when the signature had none
    std::string selector;  // s=
    std::string b_prefix;  // the first 8 characters of b= (RFC 6008), to tell signatures apart
    std::string reason;    // a short fixed text when not pass
};

struct DkimVerifyOptions {
    std::uint32_t signatures_max = 5;
    std::uint32_t key_bits_min = 1024;
};

class DkimVerify {
public:
    static Result<std::unique_ptr<DkimVerify>> create(DnsBudget& budget, const DkimVerifyOptions& options);

    // One result per signature checked, in the message's order; empty when it has none.
    std::vector<DkimSignatureResult> verify(std::string_view message);

private:
    DkimVerify(DnsBudget& budget, const DkimVerifyOptions& options, DkimLibPtr lib)
        : budget_(budget), options_(options), lib_(std::move(lib)) {}
    static DKIM_CBSTAT prescreen(DKIM* dkim, DKIM_SIGINFO** sigs, int count);
    static DKIM_CBSTAT fetch_key(DKIM* dkim, DKIM_SIGINFO* sig, unsigned char* buf, size_t buflen);
    DkimSignatureResult result_of(DKIM_SIGINFO* sig) const;

    DnsBudget& budget_;
    const DkimVerifyOptions options_;
    DkimLibPtr lib_;
};

}  // namespace vmx
