//go:build !unix && !windows

package sock

import (
	"net"
	"syscall"
)

// ReuseAddr sets nothing where the platform has no such option.
func ReuseAddr(_, _ string, _ syscall.RawConn) error { return nil }

// OOBInline does nothing where the platform has no such option.
func OOBInline(net.Conn) {}

// AddrInUse reports false where the platform's error for a taken address
// is not known: the caller then treats the bind failure as an error.
func AddrInUse(error) bool { return false }
