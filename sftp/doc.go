// Package sftp is ferry's SSH server. It authenticates against the shared
// user store and lockout (passwords and authorized keys), offers the
// "sftp" subsystem and, over exec, only the hash commands (exec.go) and the
// legacy SCP protocol of scp -O (scp.go), none of which runs a program;
// it serves SFTP with an SFTP version 3 implementation of
// its own over golang.org/x/crypto/ssh channels, so that every file
// operation goes through the user's vfs (home-rooted, atomic uploads,
// in-place resume). The server advertises OpenSSH's limits@openssh.com
// extension, so OpenSSH clients move 255 KiB per request instead of 32 KiB,
// and it processes each session's requests in order, which keeps writes
// sequential on disk. Host keys (ed25519 and RSA 3072) are generated into the
// data directory on first start and reused afterwards.
package sftp
