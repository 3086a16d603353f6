// The export page: the mailbox as one mbox file, prepared first (the daemon stages it, sealed, in its
// temp store), then downloaded or discarded until it expires. While it is prepared the page says so
// and loads itself again (a meta refresh: the CSP allows no script). The download comes in pieces
// (DownloadSource): each part is asked of the daemon once the browser has taken most of the one
// before, so the portal holds about one part per download, never the file (see portal_app.h).
#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

#include "appliance/portal/html.h"
#include "appliance/portal/portal_app.h"
#include "core/log.h"

namespace vmx::portal {
namespace {

constexpr std::uint32_t preparing_refresh_s = 5;  // how soon the page looks again while preparing

// The parts of one staged export, one daemon call each, in order.
class DownloadSource final : public BodySource {
public:
    DownloadSource(DaemonLink& daemon, std::uint32_t shard, std::string token, std::uint64_t export_id,
                   std::uint64_t parts)
        : daemon_(daemon), shard_(shard), token_(std::move(token)), export_id_(export_id), parts_(parts) {}

    void next(std::function<void(std::optional<std::string>)> give) override {
        if (next_ >= parts_) return give(std::nullopt);
        DaemonRequest request;
        request.command = "export-download";
        request.fields = {{"export", std::to_string(export_id_)}, {"part", std::to_string(next_++)}, {"token", token_}};
        daemon_.call(shard_, std::move(request), [give = std::move(give)](DaemonReply reply) {
            if (reply.status != DaemonStatus::ok) {
                // Gone (replaced, discarded, expired), or the daemon did not answer: the browser sees a cut download.
                log_event(LogLevel::warn, "portal.download_cut", "status={}", static_cast<int>(reply.status));
                return give(std::nullopt);
            }
            give(std::move(reply.text));
        });
    }

private:
    DaemonLink& daemon_;
    const std::uint32_t shard_;
    const std::string token_;
    const std::uint64_t export_id_;
    const std::uint64_t parts_;
    std::uint64_t next_ = 0;
};

std::uint64_t number_of(const nlohmann::json& item, const char* key) {
    auto it = item.find(key);
    return it != item.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::string size_text(std::uint64_t bytes) {
    if (bytes < (std::uint64_t{1} << 20)) return fmt::format("{} KB", (bytes + 1023) / 1024);
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

// "2026-12-06T10:13:38Z" as "2026-12-06 10:13 UTC"; anything else as it came.
std::string time_text(const std::string& utc) {
    if (utc.size() != 20 || utc[10] != 'T' || utc[19] != 'Z') return utc;
    return utc.substr(0, 10) + " " + utc.substr(11, 5) + " UTC";
}

std::string notice_html(std::string_view notice, bool problem) {
    if (notice.empty()) return {};
    return fmt::format(R"(<p class="{}">{}</p>)", problem ? "problem" : "notice", escape_html(notice));
}

std::string prepare_form(const ExchangePtr& ex, std::string_view button) {
    return fmt::format(R"(<form method="post" action="/export/prepare">{}<label><input type="checkbox" name="trash" value="1"> )"
                       R"(Include deleted mail</label><button type="submit">{}</button></form>)",
                       csrf_input(ex->csrf()), button);
}

std::string ready_html(const ExchangePtr& ex, const nlohmann::json& s) {
    const bool trash = s.value("trash", false);
    return fmt::format(
        R"(<p class="notice">Your export is ready: {} messages{}, {}. You can download it until {}; then it is deleted.</p>)"
        R"(<form method="post" action="/export/download" class="inline">{}<button type="submit">Download</button></form> )"
        R"(<form method="post" action="/export/discard" class="inline">{}<button type="submit">Discard</button></form>)"
        R"(<h3>A new export</h3><p>It replaces this one.</p>{})",
        number_of(s, "messages"), trash ? " (deleted mail included)" : "", size_text(number_of(s, "bytes")),
        escape_html(time_text(text_of(s, "expires"))), csrf_input(ex->csrf()), csrf_input(ex->csrf()),
        prepare_form(ex, "Prepare a new export"));
}

void export_page(const ExchangePtr& ex, std::string_view notice, bool problem) {
    ask(ex, "export-status", {}, [ex, notice = std::string(notice), problem](const DaemonReply& reply) {
        const nlohmann::json s = json_of(reply);
        if (reply.status != DaemonStatus::ok || !s.is_object()) return ex->error(503, reply.text);
        const std::string state = text_of(s, "state");
        std::string body = notice_html(notice, problem) +
                           "<p>Your whole mailbox as one mbox file, which most mail programs can import. It is "
                           "prepared first; then you can download it until it expires.</p>";
        if (state == "preparing") {
            body += fmt::format(R"(<p class="notice">Your export is being prepared ({} so far). This page looks )"
                                R"(again every few seconds, or <a href="/export">look now</a>.</p>)",
                                size_text(number_of(s, "bytes")));
            return ex->page("Export", body, true, 200, preparing_refresh_s);
        }
        if (state == "ready") return ex->page("Export", body + ready_html(ex, s));
        if (state == "failed") body += notice_html(text_of(s, "error"), true);
        ex->page("Export", body + prepare_form(ex, "Prepare export"));
    });
}

}  // namespace

void get_export(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) { export_page(ex, {}, false); });
}

void post_export_prepare(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        Fields fields;
        if (ex->field("trash") == "1") fields.emplace_back("trash", "1");
        ask(ex, "export-prepare", std::move(fields), [ex](const DaemonReply& reply) {
            if (reply.status != DaemonStatus::ok) return export_page(ex, reply.text, true);
            ex->redirect("/export");
        });
    });
}

void post_export_discard(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        ask(ex, "export-discard", {}, [ex](const DaemonReply& reply) {
            if (reply.status != DaemonStatus::ok) return export_page(ex, reply.text, true);
            ex->redirect("/export");
        });
    });
}

// A download by POST (the form's token guards it like a change): the ready export, part by part.
void post_export_download(const ExchangePtr& ex) {
    signed_in(ex, [ex](const nlohmann::json&) {
        ask(ex, "export-status", {}, [ex](const DaemonReply& reply) {
            const nlohmann::json s = json_of(reply);
            if (reply.status != DaemonStatus::ok || !s.is_object() || text_of(s, "state") != "ready")
                return export_page(ex, "There is no export ready to download.", true);
            http::Response head;
            head.headers.emplace_back("Content-Type", "application/mbox");
            head.headers.emplace_back("Content-Disposition", "attachment; filename=\"mailbox.mbox\"");
            ex->stream(std::move(head), number_of(s, "bytes"),
                       std::make_shared<DownloadSource>(ex->app.daemon(), ex->shard, ex->token, number_of(s, "export"),
                                                        number_of(s, "parts")));
        });
    });
}

}  // namespace vmx::portal
