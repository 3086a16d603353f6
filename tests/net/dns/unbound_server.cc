// UnboundServer (see unbound_server.h): config file, spawn, readiness by TCP connect, stop by pid.
#include "tests/net/dns/unbound_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

extern char** environ;

namespace vmx::net::dns::testing {
namespace {

// The zone every resolver test reads. "test." is one of unbound's blocked special names; the
// explicit static zone below opens example.test. for our records.
constexpr const char* zone = R"(
    local-zone: "example.test." static
    local-data: "example.test. IN MX 10 mx1.example.test."
    local-data: "example.test. IN MX 20 mx2.example.test."
    local-data: "mx1.example.test. IN A 192.0.2.1"
    local-data: "mx1.example.test. IN AAAA 2001:db8::1"
    local-data: "mx2.example.test. IN A 192.0.2.2"
    local-data: "v6only.example.test. IN AAAA 2001:db8::6"
    local-data: "nullmx.example.test. IN MX 0 ."
    local-data: "nomx.example.test. IN A 192.0.2.10"
    local-data: 'spf.example.test. IN TXT "v=spf1 ip4:192.0.2.0/24" " -all"'
    local-data: 'spf.example.test. IN TXT "unrelated"'
    local-data: "literal.example.test. IN MX 10 192.0.2.99."
    local-data: "many.example.test. IN A 192.0.2.11"
    local-data: "many.example.test. IN A 192.0.2.12"
    local-data: "many.example.test. IN A 192.0.2.13"
    local-data: "many.example.test. IN A 192.0.2.14"
    local-data: "many.example.test. IN A 192.0.2.15"
)";

// 100 A records: over 1232 bytes, so unbound truncates the UDP answer and c-ares asks again over TCP.
std::string big_zone() {
    std::string out;
    for (int i = 1; i <= 100; ++i) out += "    local-data: \"big.example.test. IN A 198.51.100." + std::to_string(i) + "\"\n";
    return out;
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

bool tcp_accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_in a = loopback(port);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

std::string find_unbound() {
    for (const char* path : {"/usr/sbin/unbound", "/usr/local/sbin/unbound"})
        if (::access(path, X_OK) == 0) return path;
    return {};
}

}  // namespace

std::uint16_t free_loopback_port() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a = loopback(0);
        socklen_t len = sizeof a;
        ::bind(udp, reinterpret_cast<const sockaddr*>(&a), sizeof a);
        ::getsockname(udp, reinterpret_cast<sockaddr*>(&a), &len);
        const int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const bool tcp_free = ::bind(tcp, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
        ::close(tcp);
        ::close(udp);
        if (tcp_free) return ntohs(a.sin_port);
    }
    return 0;
}

std::unique_ptr<UnboundServer> UnboundServer::start(std::string& error) {
    std::string binary = find_unbound();
    if (binary.empty()) {
        error = "unbound not found (scripts/install-deps installs it)";
        return nullptr;
    }
    std::unique_ptr<UnboundServer> server(new UnboundServer());
    char dir_template[] = "/tmp/vmx-unbound-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
        error = "mkdtemp failed";
        return nullptr;
    }
    server->dir_ = dir_template;
    server->port_ = free_loopback_port();
    const std::string conf = server->dir_ + "/unbound.conf";
    std::ofstream(conf) << "server:\n"
                        << "    interface: 127.0.0.1@" << server->port_ << "\n"
                        << "    port: " << server->port_ << "\n"
                        << "    do-ip6: no\n    do-not-query-localhost: no\n    num-threads: 1\n    so-rcvbuf: 4m\n"
                        << "    username: \"\"\n    chroot: \"\"\n    pidfile: \"\"\n"
                        << "    directory: \"" << server->dir_ << "\"\n"
                        << "    use-syslog: no\n    logfile: \"\"\n    verbosity: 0\n"
                        << "    access-control: 127.0.0.0/8 allow\n    module-config: \"iterator\"\n"
                        << zone << big_zone() << "remote-control:\n    control-enable: no\n";
    std::string arg_d = "-d", arg_c = "-c";
    char* argv[] = {binary.data(), arg_d.data(), arg_c.data(), const_cast<char*>(conf.c_str()), nullptr};
    if (::posix_spawn(&server->pid_, binary.c_str(), nullptr, nullptr, argv, environ) != 0) {
        error = "posix_spawn unbound failed";
        return nullptr;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!tcp_accepts(server->port_)) {
        int status = 0;
        if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
            server->pid_ = -1;
            error = "unbound exited at start (config in " + conf + ")";
            return nullptr;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            error = "unbound did not listen within 10 s";
            return nullptr;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return server;
}

UnboundServer::~UnboundServer() {
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        // Bounded: SIGKILL if unbound does not stop within 5 s.
        for (int i = 0; i < 250; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
}

}  // namespace vmx::net::dns::testing
