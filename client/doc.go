// Package client is ferry's transfer client: one interface (Conn) over FTP
// with explicit or implicit TLS, SFTP and ferry's HTTPS REST API, and what
// is built on it: transfers (download, upload, whole trees, resume, a size
// check after every file, progress) and List and Remove, which take a file
// or a folder alike. It also decides whom to trust: system roots, or a
// trust-on-first-use record of the server's certificate or host key, so
// that a changed certificate stops the transfer. Errors carry a kind
// (ErrAuth, ErrTrust, ...) that ExitCode maps to a documented exit status.
package client
