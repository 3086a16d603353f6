// The portal's staged export on the user-scoped socket (see portal_commands.h): the session user's
// mailbox prepared as mboxrd in the temp store, then downloaded part by part within its lifetime, or
// discarded. The work is jobs/export_staging.h's, on the mailbox's owner shard: each command sends
// it a StagedExportCall and answers from the reply.
//   export-prepare   field trash=1 adds the deleted mail. {"state":"preparing"}; replaces the user's
//                    export (ready or being prepared). Audited.
//   export-status    {"state":"none"}, {"state":"preparing","bytes":N,"messages":N},
//                    {"state":"ready","export":ID,"bytes":N,"messages":N,"parts":N,"trash":B,
//                    "expires":"UTC time"} or {"state":"failed","error":"why"}. Not audited (a read).
//   export-download  fields export (the ID) and part (0 .. parts-1): the part's mboxrd as the reply's
//                    text (about a MiB). The portal asks for the next part once the browser has
//                    taken the one before, so a slow browser holds no socket and no thread here.
//                    The first part is audited: the download starts. Refused once that export is
//                    gone (replaced, discarded, expired).
//   export-discard   {"discarded":true}. Audited.
// Control thread only.
#pragma once

#include "appliance/admin/portal_signin.h"

namespace vmx {

void portal_export_prepare(PortalCall& call);
void portal_export_status(PortalCall& call);
void portal_export_download(PortalCall& call);
void portal_export_discard(PortalCall& call);

}  // namespace vmx
