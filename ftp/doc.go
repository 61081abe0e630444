// Package ftp is ferry's FTP server: explicit FTPS (AUTH TLS) on the
// control port, implicit FTPS (TLS from the first byte) on its own port,
// passive data connections from a fixed port range and active ones from a
// fixed source port, all as the listener plan of package listen says.
//
// Each control connection is one session. Its goroutine reads commands;
// a transfer runs in a goroutine of its own so that ABOR and STAT are
// answered while data moves, and any other command waits for the transfer
// to end. Data connections must come from (or go to) the control
// connection's own IP. With PROT P, the data connection's TLS session must
// resume a session ferry issued (ftp.tls_session_reuse): by default one of
// a control connection of the same user from the same address, or under
// "connection" one of its own control connection. Tickets are sealed with
// server-wide keys and name the control connection they were issued on
// (transfer_tls.go). Under tls = "required" (and on the
// implicit port) data connections must be protected too (PROT P).
// Files are reached only through package vfs, so uploads are atomic and no
// path leaves the user's home.
package ftp
