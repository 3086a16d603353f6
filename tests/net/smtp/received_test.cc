// The Received: header helper: Postfix's layout with and without TLS, protocol names, the date,
// submission's login and privacy, and fields that try to inject header lines.
#include <gtest/gtest.h>

#include "net/smtp/received.h"

namespace vmx::smtp {
namespace {

TEST(SmtpReceived, WithTls) {
    ReceivedInfo info;
    info.helo_name = "mail.example.com";
    info.client_name = "mail.example.com";
    info.client_address = "192.0.2.1";
    info.hostname = "mx.example.net";
    info.queue_id = "4ABC123";
    info.recipient = "bob@example.org";
    info.tls_version = "TLSv1.3";
    info.tls_cipher = "TLS_AES_256_GCM_SHA384";
    info.cipher_bits = 256;
    info.cipher_alg_bits = 256;
    info.esmtp = true;
    info.date_unix = 1795404492;
    EXPECT_EQ(received_header(info),
              "Received: from mail.example.com (mail.example.com [192.0.2.1])\r\n"
              "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
              "\t(No client certificate requested)\r\n"
              "\tby mx.example.net (vaultmx) with ESMTPS id 4ABC123\r\n"
              "\tfor <bob@example.org>; Mon, 23 Nov 2026 03:28:12 +0000 (UTC)\r\n");
}

TEST(SmtpReceived, PlainAndUnknownClient) {
    ReceivedInfo info;
    info.helo_name = "[192.0.2.9]";
    info.client_address = "2001:db8::9";
    info.hostname = "mx.example.net";
    info.date_unix = 0;
    EXPECT_EQ(received_header(info),
              "Received: from [192.0.2.9] (unknown [2001:db8::9])\r\n"
              "\tby mx.example.net (vaultmx) with SMTP\r\n"
              "\tThu, 1 Jan 1970 00:00:00 +0000 (UTC)\r\n");
    info.smtputf8 = true;
    info.client_address = "not an address";
    EXPECT_NE(received_header(info).find("(unknown [unknown])"), std::string::npos);
    EXPECT_NE(received_header(info).find("with UTF8SMTP\r\n"), std::string::npos);
}

// Submission: ESMTPSA (RFC 3848) and the login recorded; with hide_client neither the client's
// address nor its EHLO name (often an address literal) appears.
TEST(SmtpReceived, SubmissionRecordsTheLoginAndMayHideTheClient) {
    ReceivedInfo info;
    info.helo_name = "[192.168.1.20]";
    info.client_address = "198.51.100.7";
    info.hostname = "smtp.example.net";
    info.queue_id = "0100000001";
    info.tls_version = "TLSv1.3";
    info.tls_cipher = "TLS_AES_256_GCM_SHA384";
    info.cipher_bits = 256;
    info.cipher_alg_bits = 256;
    info.esmtp = true;
    info.authenticated = true;
    info.date_unix = 1795404492;
    EXPECT_EQ(received_header(info),
              "Received: from [192.168.1.20] (unknown [198.51.100.7])\r\n"
              "\t(authenticated sender)\r\n"
              "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\r\n"
              "\t(No client certificate requested)\r\n"
              "\tby smtp.example.net (vaultmx) with ESMTPSA id 0100000001\r\n"
              "\tMon, 23 Nov 2026 03:28:12 +0000 (UTC)\r\n");
    info.hide_client = true;
    const std::string hidden = received_header(info);
    EXPECT_EQ(hidden.find("198.51.100.7"), std::string::npos);
    EXPECT_EQ(hidden.find("192.168.1.20"), std::string::npos);
    EXPECT_EQ(hidden.rfind("Received: (authenticated sender)\r\n\t(using TLSv1.3", 0), 0u) << hidden;
    info.smtputf8 = true;
    EXPECT_NE(received_header(info).find("with UTF8SMTPSA id"), std::string::npos);
    info.tls_version = {};
    EXPECT_NE(received_header(info).find("with UTF8SMTPA id"), std::string::npos);
}

TEST(SmtpReceived, FieldsCannotInjectLines) {
    ReceivedInfo info;
    info.helo_name = "evil\r\nX-Injected: yes";
    info.client_name = "a\r\nb";
    info.hostname = "mx.example.net";
    info.tls_version = "TLSv1.2\n";
    info.tls_cipher = "X";
    const std::string h = received_header(info);
    EXPECT_EQ(h.find("\r\nX-Injected"), std::string::npos);
    EXPECT_NE(h.find("evil??X-Injected: yes"), std::string::npos);
    EXPECT_NE(h.find("(unknown [unknown])"), std::string::npos);
    EXPECT_NE(h.find("TLSv1.2?"), std::string::npos);
}

TEST(SmtpReceived, Dates) {
    EXPECT_EQ(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000 (UTC)");
    EXPECT_EQ(rfc5322_date(4102444799), "Thu, 31 Dec 2099 23:59:59 +0000 (UTC)");
    EXPECT_EQ(rfc5322_date(-1), "Wed, 31 Dec 1969 23:59:59 +0000 (UTC)");
}

}  // namespace
}  // namespace vmx::smtp
