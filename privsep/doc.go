// Package privsep lets `ferry serve` give up root after it has bound its
// ports (run_as). Two things need root after that, and only on Linux: the
// FTP active-mode data connections, which RFC 959 has leave from the
// control port minus one (20, and 989 for implicit FTPS), below 1024; and
// nothing else. So before dropping, ferry starts a helper: a copy of
// itself that stays root, does one job — dial from a privileged source
// port of the listener plan to a client port of 1024 or more — and hands
// the connected socket back over a Unix socket (SCM_RIGHTS). The server
// proper then runs as the configured user. This is the privileged-parent
// design of vsftpd and OpenSSH, reduced to the one call that needs it; a
// kept capability would do too, but Linux keeps capabilities per thread and
// a Go program cannot hold one reliably across its threads.
package privsep
