// libcurl behind HttpsTransport (see https_fetch.h).
#include "appliance/acme/https_fetch.h"

#include <curl/curl.h>

#include <array>
#include <cctype>
#include <charconv>
#include <system_error>

namespace vmx {
namespace {

struct Capture {
    HttpsReply* reply = nullptr;
    bool too_large = false;
};

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
    return s;
}

bool name_is(std::string_view line, std::string_view name) {
    if (line.size() <= name.size() || line[name.size()] != ':') return false;
    for (std::size_t i = 0; i < name.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
    return true;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* arg) {
    auto& c = *static_cast<Capture*>(arg);
    const std::size_t n = size * count;
    if (c.reply->body.size() + n > acme_reply_bytes_max) {
        c.too_large = true;
        return 0;  // curl stops with CURLE_WRITE_ERROR
    }
    c.reply->body.append(data, n);
    return n;
}

// One header line at a time; a redirect is not followed, so only the final answer's lines arrive.
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* arg) {
    auto& c = *static_cast<Capture*>(arg);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    const auto value = [&](std::string_view name) { return std::string(trimmed(line.substr(name.size() + 1))); };
    if (line.starts_with("HTTP/")) {
        *c.reply = HttpsReply{};  // a 100 Continue before the answer
    } else if (name_is(line, "location")) {
        c.reply->location = value("location");
    } else if (name_is(line, "replay-nonce")) {
        c.reply->replay_nonce = value("replay-nonce");
    } else if (name_is(line, "content-type")) {
        c.reply->content_type = value("content-type");
    } else if (name_is(line, "retry-after")) {
        const std::string v = value("retry-after");
        std::int64_t s = 0;
        const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
        if (ec == std::errc() && end == v.data() + v.size() && s >= 0) c.reply->retry_after_s = s;
    }
    return n;
}

// libcurl calls this about once a second and on every transfer step: a stop abandons the request
// (CURLE_ABORTED_BY_CALLBACK) instead of holding the daemon's shutdown for a whole timeout.
int on_progress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* stopping = static_cast<const std::atomic<bool>*>(arg);
    return stopping != nullptr && stopping->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

struct CurlTransport::Handle {
    CURL* curl = nullptr;
    curl_slist* jose = nullptr;
    ~Handle() {
        if (jose != nullptr) curl_slist_free_all(jose);
        if (curl != nullptr) curl_easy_cleanup(curl);
    }
};

void https_global_init() { curl_global_init(CURL_GLOBAL_DEFAULT); }

CurlTransport::CurlTransport(HttpsOptions options) : options_(std::move(options)), handle_(std::make_unique<Handle>()) {
    handle_->curl = curl_easy_init();
    handle_->jose = curl_slist_append(nullptr, "Content-Type: application/jose+json");
}

CurlTransport::~CurlTransport() = default;

Result<HttpsReply> CurlTransport::get(const std::string& url) { return perform(Method::get, url, {}); }
Result<HttpsReply> CurlTransport::head(const std::string& url) { return perform(Method::head, url, {}); }
Result<HttpsReply> CurlTransport::post_jose(const std::string& url, std::string_view body) {
    return perform(Method::post, url, body);
}

Result<HttpsReply> CurlTransport::perform(Method method, const std::string& url, std::string_view body) {
    CURL* c = handle_->curl;
    if (c == nullptr || handle_->jose == nullptr) {
        last_error_ = "libcurl could not make a handle";
        return fail(std::make_error_code(std::errc::not_enough_memory));
    }
    HttpsReply reply;
    Capture capture{&reply};
    std::array<char, CURL_ERROR_SIZE> error{};
    curl_easy_reset(c);
    bool ok = curl_easy_setopt(c, CURLOPT_URL, url.c_str()) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms)) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_USERAGENT, options_.user_agent.c_str()) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error.data()) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEDATA, &capture) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HEADERDATA, &capture) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_XFERINFODATA, options_.stopping) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    if (ok && !options_.ca_file.empty()) ok = curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str()) == CURLE_OK;
    if (ok && method == Method::head) ok = curl_easy_setopt(c, CURLOPT_NOBODY, 1L) == CURLE_OK;
    if (ok && method == Method::post)
        ok = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data()) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size())) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_HTTPHEADER, handle_->jose) == CURLE_OK;
    if (!ok) {
        last_error_ = "libcurl refused an option";
        return fail(std::make_error_code(std::errc::invalid_argument));
    }
    const CURLcode rc = curl_easy_perform(c);
    if (capture.too_large) {
        last_error_ = "the answer is larger than " + std::to_string(acme_reply_bytes_max) + " bytes";
        return fail(std::make_error_code(std::errc::message_size));
    }
    if (rc != CURLE_OK) {
        last_error_ = error[0] != '\0' ? std::string(error.data()) : std::string(curl_easy_strerror(rc));
        return fail(std::make_error_code(rc == CURLE_OPERATION_TIMEDOUT ? std::errc::timed_out : std::errc::io_error));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
}

}  // namespace vmx
