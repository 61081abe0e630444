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
