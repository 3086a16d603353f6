// Every admin command's handler, by the file that holds it. Each reads the fields its row in
// command_table.cc names (check_request has already refused any other shape), re-checks their
// values, acts, and answers; only command_registry.cc refers to them. Control thread only.
#pragma once

#include "appliance/admin/commands.h"

namespace vmx::admin {

// commands_org.cc
AdminReply org_add(AdminContext& c, const AdminRequest& r);
AdminReply org_set_plan(AdminContext& c, const AdminRequest& r);
AdminReply org_list(AdminContext& c, const AdminRequest& r);
AdminReply org_policy(AdminContext& c, const AdminRequest& r);

// commands_domain.cc
AdminReply domain_add(AdminContext& c, const AdminRequest& r);
AdminReply domain_list(AdminContext& c, const AdminRequest& r);

// commands_user.cc
// These three answer once the password is hashed on the auth workers.
void user_add(AdminContext& c, const AdminRequest& r, AdminResponder respond);
void user_passwd(AdminContext& c, const AdminRequest& r, AdminResponder respond);
AdminReply user_list(AdminContext& c, const AdminRequest& r);
AdminReply user_disable(AdminContext& c, const AdminRequest& r);
AdminReply user_enable(AdminContext& c, const AdminRequest& r);
AdminReply user_logout(AdminContext& c, const AdminRequest& r);
AdminReply user_sessions(AdminContext& c, const AdminRequest& r);
AdminReply user_logins(AdminContext& c, const AdminRequest& r);

// commands_mailbox.cc
AdminReply user_mailbox(AdminContext& c, const AdminRequest& r);
// Answers once the mailbox's owner shard has restored the message (on_admin_shard_reply).
void user_restore(AdminContext& c, const AdminRequest& r, AdminResponder respond);

// commands_closure.cc
AdminReply user_close(AdminContext& c, const AdminRequest& r);
AdminReply user_reopen(AdminContext& c, const AdminRequest& r);
void user_purge(AdminContext& c, const AdminRequest& r, AdminResponder respond);
AdminReply org_close(AdminContext& c, const AdminRequest& r);
AdminReply org_reopen(AdminContext& c, const AdminRequest& r);

// commands_export.cc
// Answers with a stream of mboxrd pieces, each read on the mailbox's owner shard.
void user_export(AdminContext& c, const AdminRequest& r, AdminResponder respond);

// commands_support.cc
// Answers once the mailbox's owner shard has read every message's header fields (and, for a
// reveal, once the reveal is on record).
void support_mailbox(AdminContext& c, const AdminRequest& r, AdminResponder respond);

// commands_credentials.cc
void app_password_add(AdminContext& c, const AdminRequest& r, AdminResponder respond);
AdminReply app_password_list(AdminContext& c, const AdminRequest& r);
AdminReply app_password_revoke(AdminContext& c, const AdminRequest& r);
AdminReply totp_enroll(AdminContext& c, const AdminRequest& r);
AdminReply totp_disable(AdminContext& c, const AdminRequest& r);

// commands_senders.cc
AdminReply sender_add(AdminContext& c, const AdminRequest& r);
AdminReply sender_remove(AdminContext& c, const AdminRequest& r);
AdminReply sender_list(AdminContext& c, const AdminRequest& r);

// commands_keys.cc
AdminReply key_status(AdminContext& c, const AdminRequest& r);
AdminReply key_rotate(AdminContext& c, const AdminRequest& r);

// commands_bans.cc
AdminReply bans_list(AdminContext& c, const AdminRequest& r);
AdminReply bans_remove(AdminContext& c, const AdminRequest& r);

// commands_secrets.cc
AdminReply secret_set(AdminContext& c, const AdminRequest& r);
AdminReply secret_list(AdminContext& c, const AdminRequest& r);
AdminReply secret_remove(AdminContext& c, const AdminRequest& r);

// commands_dkim.cc
AdminReply dkim_keygen(AdminContext& c, const AdminRequest& r);
AdminReply dkim_show(AdminContext& c, const AdminRequest& r);
AdminReply dkim_rotate(AdminContext& c, const AdminRequest& r);

// commands_queue.cc
AdminReply queue_list(AdminContext& c, const AdminRequest& r);
AdminReply queue_show(AdminContext& c, const AdminRequest& r);
// Answer once the entry's shard (every shard, for --all) has acted.
void queue_retry(AdminContext& c, const AdminRequest& r, AdminResponder respond);
void queue_delete(AdminContext& c, const AdminRequest& r, AdminResponder respond);

// commands_stats.cc
AdminReply stats(AdminContext& c, const AdminRequest& r);

// commands_audit.cc
AdminReply audit_show(AdminContext& c, const AdminRequest& r);
AdminReply logs_show(AdminContext& c, const AdminRequest& r);
AdminReply alarms(AdminContext& c, const AdminRequest& r);
AdminReply acme_status(AdminContext& c, const AdminRequest& r);
AdminReply acme_renew(AdminContext& c, const AdminRequest& r);
// logs show's work on a spool, for the daemon and for the CLI when no daemon runs.
AdminReply show_log_events(const LogSpool& spool, const AdminRequest& r);
AdminReply audit_verify(AdminContext& c, const AdminRequest& r);

}  // namespace vmx::admin
