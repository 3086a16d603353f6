// The order flow of RFC 8555 (see acme_client.h).
#include "appliance/acme/acme_client.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/webauthn/webauthn.h"

namespace vmx {
namespace {

using nlohmann::json;

constexpr int bad_nonce_retries = 5;
constexpr std::uint64_t retry_after_cap_ms = 10000;

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

json parse(const std::string& text) { return json::parse(text, nullptr, false); }

std::string text_of(const json& j, std::string_view key) {
    if (!j.is_object()) return {};
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Printable ASCII only: a URL the CA sends goes into the next request's signed header (JSON) and
// into log lines.
bool https_url(std::string_view url) {
    return url.starts_with("https://") && url.size() <= 2048 &&
           std::all_of(url.begin(), url.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// RFC 8555 6.5.1: a nonce is base64url, like a challenge's token (8.3), and as bounded.
bool usable_nonce(std::string_view nonce) { return valid_acme_token(nonce); }

std::string dumped(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// A problem document's type and detail, bounded and on one line (they reach a log field).
std::string problem_text(const HttpsReply& reply) {
    const json p = parse(reply.body);
    std::string type = text_of(p, "type");
    std::string detail = text_of(p, "detail");
    std::string out = "HTTP " + std::to_string(reply.status);
    if (!type.empty()) out += " " + type;
    if (!detail.empty()) out += ": " + detail;
    if (out.size() > 300) out.resize(300);
    std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r' || c == '"'; }, ' ');
    return out;
}

bool is_bad_nonce(const HttpsReply& reply) {
    return reply.status == 400 && text_of(parse(reply.body), "type") == "urn:ietf:params:acme:error:badNonce";
}

}  // namespace

Unexpected<std::error_code> AcmeClient::failed(std::string text, std::errc code) {
    error_ = std::move(text);
    return fail(std::make_error_code(code));
}

Unexpected<std::error_code> AcmeClient::problem(std::string_view step, const HttpsReply& reply) {
    return failed(std::string(step) + ": " + problem_text(reply));
}

bool AcmeClient::wait(std::uint64_t ms) const {
    const std::int64_t until = std::min<std::int64_t>(steady_ms() + static_cast<std::int64_t>(ms), deadline_ms_);
    for (std::int64_t now = steady_ms(); now < until; now = steady_ms()) {
        if (stopping_.load(std::memory_order_relaxed)) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(50, until - now)));
    }
    return !stopping_.load(std::memory_order_relaxed) && steady_ms() < deadline_ms_;
}

Result<void> AcmeClient::load_directory() {
    if (!https_url(options_.directory_url)) return failed("directory: not an https URL");
    auto reply = http_.get(options_.directory_url);
    if (!reply) return failed("directory: " + reply.error().message(), std::errc::host_unreachable);
    if (reply->status != 200) return problem("directory", *reply);
    const json d = parse(reply->body);
    dir_ = {text_of(d, "newNonce"), text_of(d, "newAccount"), text_of(d, "newOrder")};
    if (!https_url(dir_.new_nonce) || !https_url(dir_.new_account) || !https_url(dir_.new_order))
        return failed("directory: newNonce, newAccount or newOrder missing");
    auto fresh = http_.head(dir_.new_nonce);
    if (!fresh || !usable_nonce(fresh->replay_nonce)) return failed("newNonce: no usable Replay-Nonce");
    nonce_ = fresh->replay_nonce;
    return {};
}

// Every request after the directory is a JWS POST (POST-as-GET with an empty payload). Each answer
// carries the next nonce; a badNonce answer is tried again with it.
Result<HttpsReply> AcmeClient::signed_post(const std::string& url, const std::string& payload) {
    for (int attempt = 0;; ++attempt) {
        if (stopping_.load(std::memory_order_relaxed)) return failed("stopped", std::errc::operation_canceled);
        if (nonce_.empty()) {  // the last answer carried none (or an unusable one)
            auto fresh = http_.head(dir_.new_nonce);
            if (!fresh || !usable_nonce(fresh->replay_nonce)) return failed("newNonce: no usable Replay-Nonce");
            nonce_ = fresh->replay_nonce;
        }
        auto body = crypto::jws_sign(account_, {nonce_, url, kid_}, payload);
        if (!body) return failed("signing the request failed", std::errc::invalid_argument);
        auto reply = http_.post_jose(url, *body);
        if (!reply) return failed("POST: " + reply.error().message(), std::errc::host_unreachable);
        nonce_ = usable_nonce(reply->replay_nonce) ? reply->replay_nonce : std::string();
        if (!is_bad_nonce(*reply) || attempt == bad_nonce_retries) return reply;
        if (nonce_.empty()) {
            auto fresh = http_.head(dir_.new_nonce);
            if (!fresh || !usable_nonce(fresh->replay_nonce)) return failed("newNonce: no usable Replay-Nonce");
            nonce_ = fresh->replay_nonce;
        }
    }
}

Result<void> AcmeClient::account() {
    json payload = {{"termsOfServiceAgreed", true}};
    if (!options_.email.empty()) payload["contact"] = json::array({"mailto:" + options_.email});
    kid_.clear();  // newAccount is signed with the jwk
    auto reply = signed_post(dir_.new_account, dumped(payload));
    if (!reply) return fail(reply.error());
    if (reply->status != 200 && reply->status != 201) return problem("newAccount", *reply);
    if (!https_url(reply->location)) return failed("newAccount: no account URL");
    kid_ = reply->location;
    return {};
}

// Polls url (POST-as-GET) until its status is `until`; the final object. "invalid" (or any status
// not pending/processing/ready/valid) ends it with the CA's reason.
Result<std::string> AcmeClient::poll(const std::string& url, std::string_view what, std::string_view until) {
    for (;;) {
        auto reply = signed_post(url, "");
        if (!reply) return fail(reply.error());
        if (reply->status != 200) return problem(what, *reply);
        const json obj = parse(reply->body);
        const std::string status = text_of(obj, "status");
        if (status == until) return std::move(reply->body);
        if (status != "pending" && status != "processing" && status != "ready") {
            std::string why = std::string(what) + ": status " + (status.empty() ? "missing" : status);
            // An authorization's failed challenge carries the CA's reason in its error.
            if (obj.is_object() && obj.contains("challenges") && obj["challenges"].is_array())
                for (const auto& ch : obj["challenges"])
                    if (ch.is_object() && ch.contains("error")) {
                        HttpsReply shown;
                        shown.status = reply->status;
                        shown.body = dumped(ch["error"]);
                        why += " (" + problem_text(shown) + ")";
                        break;
                    }
            if (why.size() > 400) why.resize(400);
            return failed(std::move(why));
        }
        const std::uint64_t pause = reply->retry_after_s > 0
                                        ? std::min<std::uint64_t>(static_cast<std::uint64_t>(reply->retry_after_s) * 1000,
                                                                  retry_after_cap_ms)
                                        : options_.poll_ms;
        if (!wait(pause))
            return stopping_ ? failed("stopped", std::errc::operation_canceled)
                             : failed(std::string(what) + ": not " + std::string(until) + " before the deadline",
                                      std::errc::timed_out);
    }
}

Result<void> AcmeClient::authorize(const std::string& authz_url, std::vector<std::string>& tokens) {
    auto reply = signed_post(authz_url, "");
    if (!reply) return fail(reply.error());
    if (reply->status != 200) return problem("authorization", *reply);
    const json authz = parse(reply->body);
    if (text_of(authz, "status") == "valid") return {};  // authorized recently: nothing to prove
    const json* challenge = nullptr;
    if (authz.is_object() && authz.contains("challenges") && authz["challenges"].is_array())
        for (const auto& ch : authz["challenges"])
            if (text_of(ch, "type") == "http-01") challenge = &ch;
    if (challenge == nullptr) return failed("authorization: the CA offers no http-01 challenge");
    const std::string token = text_of(*challenge, "token");
    const std::string url = text_of(*challenge, "url");
    if (!https_url(url)) return failed("authorization: the challenge has no https URL");
    if (!board_.put(token, token + "." + account_.thumbprint())) return failed("authorization: unusable challenge token");
    tokens.push_back(token);
    auto answered = signed_post(url, "{}");  // "ready to be checked" (RFC 8555 7.5.1)
    if (!answered) return fail(answered.error());
    if (answered->status != 200) return problem("challenge", *answered);
    auto done = poll(authz_url, "authorization", "valid");
    if (!done) return fail(done.error());
    return {};
}

Result<AcmeIssued> AcmeClient::order(const std::vector<std::string>& names) {
    error_.clear();
    deadline_ms_ = steady_ms() + static_cast<std::int64_t>(options_.deadline_s) * 1000;
    if (names.empty() || names.size() > crypto::acme_names_max) return failed("order: 1 to 100 names");
    for (const auto& n : names)
        if (!crypto::valid_acme_name(n)) return failed("order: not a host name: " + n.substr(0, 64));
    if (auto r = load_directory(); !r) return fail(r.error());
    if (auto r = account(); !r) return fail(r.error());

    json identifiers = json::array();
    for (const auto& n : names) identifiers.push_back({{"type", "dns"}, {"value", n}});
    auto created = signed_post(dir_.new_order, dumped(json{{"identifiers", identifiers}}));
    if (!created) return fail(created.error());
    if (created->status != 201) return problem("newOrder", *created);
    const std::string order_url = created->location;
    const json order = parse(created->body);
    const std::string finalize = text_of(order, "finalize");
    if (!https_url(order_url) || !https_url(finalize) || !order.contains("authorizations") ||
        !order["authorizations"].is_array())
        return failed("newOrder: no order URL, finalize URL or authorizations");

    std::vector<std::string> tokens;
    const auto clear_board = [&] {
        for (const auto& t : tokens) board_.remove(t);
    };
    for (const auto& a : order["authorizations"]) {
        const std::string authz = a.is_string() ? a.get<std::string>() : std::string();
        if (!https_url(authz)) {
            clear_board();
            return failed("newOrder: an authorization is not an https URL");
        }
        if (auto r = authorize(authz, tokens); !r) {
            clear_board();
            return fail(r.error());
        }
    }
    clear_board();

    auto key = crypto::AcmeKey::generate();
    if (!key) return failed("certificate key: could not be made", std::errc::invalid_argument);
    auto csr = crypto::make_csr(*key, names);
    if (!csr) return failed("CSR: could not be made", std::errc::invalid_argument);
    if (auto ready = poll(order_url, "order", "ready"); !ready) return fail(ready.error());
    auto finalized = signed_post(finalize, dumped(json{{"csr", crypto::webauthn::base64url(*csr)}}));
    if (!finalized) return fail(finalized.error());
    if (finalized->status != 200) return problem("finalize", *finalized);
    auto valid = poll(order_url, "order", "valid");
    if (!valid) return fail(valid.error());
    const std::string cert_url = text_of(parse(*valid), "certificate");
    if (!https_url(cert_url)) return failed("order: no certificate URL");
    auto chain = signed_post(cert_url, "");
    if (!chain) return fail(chain.error());
    if (chain->status != 200) return problem("certificate", *chain);
    if (!crypto::chain_matches_key(chain->body, *key)) return failed("certificate: not for the key of the CSR");
    auto info = crypto::read_chain(chain->body);
    if (!info) return failed("certificate: unreadable chain");
    for (const auto& n : names)
        if (std::find(info->names.begin(), info->names.end(), n) == info->names.end())
            return failed("certificate: does not name " + n);
    auto pem = key->to_pem();
    if (!pem) return failed("certificate key: could not be written", std::errc::invalid_argument);
    return AcmeIssued{names, std::move(*pem), std::move(chain->body)};
}

}  // namespace vmx
