// Package wire holds the parts of the FTP protocol that a server and a
// client share: splitting a command line into verb and argument, reading
// and writing numbered replies (single- and multi-line), and the address
// syntaxes of PORT and PASV (RFC 959) and of EPRT and EPSV (RFC 2428). It
// has no dependency on the server or the client, so both parse the wire
// the same way.
package wire
