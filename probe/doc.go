// Package probe checks a ferry server from the client's side, the way
// `ferry check HOST` does: for every service in the listener plan it
// connects, completes the AUTH TLS, implicit TLS, SSH or HTTPS handshake and
// reports the certificate or host-key fingerprint, logs in when given
// credentials, asks for PASV and EPSV and lists a folder over what they
// return, and tries a sample of the passive range. It says loudly when a
// passive reply carries an address other than the one dialled, the NAT
// misconfiguration that breaks most FTP deployments, and names middleboxes
// (middlebox.go): an FTP ALG rewriting cleartext PASV replies, one that
// breaks AUTH TLS, and whether clients with one TLS session cache across
// connections pass the server's session binding. The FTP dialogue is
// written here, independent of the server package, so the probe tests the
// server rather than sharing its assumptions.
package probe
