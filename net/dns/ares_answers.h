// Turning one c-ares query outcome (a status and the raw answer) into our values: the DNS status,
// the AD bit and the records, within their limits. Internal to net/dns; resolver thread only.
// c-ares parses the records; we read only the fixed 12-byte header (RCODE, AD), length-checked.
#pragma once

#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

#include "net/dns/dns_types.h"

namespace vmx::net::dns {

struct PartResult {
    DnsStatus status = DnsStatus::temp_failure;
    std::error_code reason;  // ares_category, when temp_failure
    bool secure = false;     // AD bit
    bool truncated = false;  // records past the limit were dropped
};

// MX records ordered by preference, at most records_max (the most preferred).
PartResult parse_mx_answer(int status, const unsigned char* abuf, int alen, std::size_t records_max,
                           std::vector<MxRecord>& out);
// AAAA (family ipv6) or A (ipv4) records, at most records_max, appended to out.
PartResult parse_address_answer(int status, const unsigned char* abuf, int alen, AddressFamily family,
                                std::size_t records_max, std::vector<IpAddress>& out);
// TXT records, each record's character-strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2), at most
// records_max; a record longer than record_bytes_max makes the answer temp_failure (malformed).
PartResult parse_txt_answer(int status, const unsigned char* abuf, int alen, std::size_t records_max,
                            std::size_t record_bytes_max, std::vector<std::string>& out);
// PTR names, at most records_max.
PartResult parse_ptr_answer(int status, const unsigned char* abuf, int alen, std::size_t records_max,
                            std::vector<std::string>& out);
// One answer for an addresses lookup from its AAAA and A parts: ok when either family has
// addresses; else temp_failure if either failed (retry, never bounce on half an answer); else
// nxdomain if either said so; else nodata.
PartResult combine_address_parts(const PartResult& ipv6, const PartResult& ipv4, bool have_addresses);

}  // namespace vmx::net::dns
