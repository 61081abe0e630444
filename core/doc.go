// Package core is the floor between the protocol adapters (ftp, sftp, web)
// and the rest of ferry (auth, store, vfs). Every connection of every
// protocol goes through it, so each job is done once and the same way:
//
//   - admission: right after accept and before any TLS or SSH handshake,
//     Admit applies the lockout and the connection budgets. Connections that
//     have not logged in have a budget of their own (limits.max_prelogin,
//     and limits.max_prelogin_per_ip from one address), separate from
//     logged-in sessions (limits.max_connections), so strangers cannot take
//     the slots of users: when the pre-login budget is full the oldest
//     pre-login connection is dropped to make room, which turns a flood of
//     idle connections into churn instead of an outage;
//   - login: passwords and keys are checked by package auth with a bounded
//     context; on success the connection becomes a session and the user's
//     file system is opened once for it;
//   - events: one vocabulary (session start and end, login ok and failed,
//     upload, download, mkdir, rmdir, delete, rename, setstat, refused),
//     each carrying the session id, the protocol, the user, the remote
//     address, the path, bytes and duration. The diagnostic log is the first
//     consumer; repeated warnings of one kind are rate-limited with a count;
//   - shutdown in two phases: Close refuses new connections while the
//     caller closes every listener; then the protocols drain their
//     sessions together until the deadline and abort the rest.
//
// Adapters stay thin: they translate their protocol into these calls and
// never reach into the store, the lockout or the disk themselves.
package core
