// SpfCheck: SPF (RFC 7208) with libspf2 for the HELO and MAIL FROM identities of one message, its
// DNS answered through the message's DnsBudget (a libspf2 DNS layer of our own, so nothing reads
// /etc/resolv.conf behind [delivery] resolver's back). RFC 7208 4.6.4's limits hold for the whole
// evaluation, includes included: ten DNS-querying terms, two void look-ups (both counted here) and
// ten names per mx or ptr (libspf2); the budget bounds everything else. No client address gets a
// pass without a record, loopback included (libspf2's own entry point would give it one).
// Worker thread only: one per worker (libspf2's server is not shared between threads).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

struct SPF_request_struct;  // libspf2's SPF_request_t

namespace vmx {

class DnsBudget;

enum class SpfResult : std::uint8_t { none, neutral, pass, fail, softfail, temperror, permerror };
const char* to_string(SpfResult result) noexcept;  // as RFC 8601 writes them

struct SpfVerdict {
    SpfResult result = SpfResult::none;
    std::string domain;  // the identity's domain: MAIL FROM's, or HELO's for a null sender
};

struct SpfIdentities {
    std::string client_ip;   // "192.0.2.1" or "2001:db8::1"
    std::string helo;        // the EHLO/HELO argument as given
    std::string mail_from;   // the reverse path without brackets; empty for the null sender
    std::string receiver;    // our host name, for the %{r} macro
};

class SpfCheck {
public:
    // The libspf2 server and its DNS layer, reading through `budget`.
    static Result<std::unique_ptr<SpfCheck>> create(DnsBudget& budget);
    ~SpfCheck();
    SpfCheck(const SpfCheck&) = delete;
    SpfCheck& operator=(const SpfCheck&) = delete;

    // RFC 7208 2.3: HELO identity (none when HELO is not a domain name).
    SpfVerdict check_helo(const SpfIdentities& ids);
    // RFC 7208 2.4: MAIL FROM identity; the null sender is checked as postmaster@HELO.
    SpfVerdict check_mail_from(const SpfIdentities& ids);

private:
    struct Impl;
    explicit SpfCheck(std::unique_ptr<Impl> impl);
    SpfVerdict evaluate(const SpfIdentities& ids, const std::string& sender, std::string domain);
    SpfResult run(::SPF_request_struct* request);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vmx
