// The CLI's own work beside a daemon (see local_store.h).
#include "appliance/cli/local_store.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "appliance/audit/audit_log.h"
#include "store/key_store.h"
#include "store/layout.h"
#include "store/lmdb.h"

namespace vmx {

// True when something accepts a connection on the admin socket: a daemon serves this instance.
bool daemon_answers(const std::string& socket_path) {
    sockaddr_un address{};
    if (socket_path.size() >= sizeof(address.sun_path)) return false;
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool connected = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
    ::close(fd);
    return connected;
}

// Appends the command to the store's audit chain, as the daemon does for the commands it runs: the
// chain's head is read inside the write transaction, so an append beside a serving daemon (LMDB
// serialises writers across processes) continues its chain. One line on failure.
std::optional<std::string> record_in_audit(const Config& config, const crypto::MasterKey& master, std::string command,
                                           std::vector<std::string> arguments, const std::string& failure) {
    auto layout = store::StoreLayout::open(config.data_dir, config.store);
    if (!layout) return "cannot open the store to record the command: " + layout.error().message();
    auto keys_env = layout->open_env(store::GlobalKind::keys, store::EnvAccess::read_shared);
    if (!keys_env) return "cannot open the key store: " + keys_env.error().message();
    auto key_store = store::KeyStore::open(**keys_env);
    if (!key_store) return "cannot open the key store: " + key_store.error().message();
    auto ring = key_store->load(crypto::copy_of(master));
    if (!ring) return "cannot load the keys: " + ring.error().message();
    auto audit_env = layout->open_env(store::GlobalKind::audit);
    if (!audit_env) return "cannot open the audit log: " + audit_env.error().message();
    auto audit = AuditLog::open(**audit_env, ring->snapshot(), AuditCreate::never);
    if (!audit) return "cannot open the audit log: " + audit.error().message();
    AuditEntry entry;
    entry.time_unix = static_cast<std::int64_t>(std::time(nullptr));
    entry.actor_uid = static_cast<std::uint32_t>(::getuid());
    entry.command = std::move(command);
    entry.arguments = std::move(arguments);
    if (!failure.empty()) entry.result = AuditResult::failure("failed", failure);
    if (auto appended = audit->append(entry); !appended) return "cannot append to the audit log: " + appended.error().message();
    return std::nullopt;
}

}  // namespace vmx
