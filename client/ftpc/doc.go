// Package ftpc is an FTP client with everything ferry's transfer client
// needs and common libraries lack: explicit (AUTH TLS) and implicit TLS
// with PROT P, data connections that resume the control connection's TLS
// session (servers with vsftpd's require_ssl_reuse demand it), passive
// mode with EPSV first and PASV as fallback, and active mode that listens
// on a chosen port range and advertises a chosen address in EPRT/PORT, for
// clients behind NAT. Reply and address syntax come from package ftp/wire,
// shared with ferry's server.
package ftpc
