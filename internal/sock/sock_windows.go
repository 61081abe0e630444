//go:build windows

package sock

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/windows"
)

// ReuseAddr is a net.Dialer Control function that sets SO_REUSEADDR, so
// that several outgoing connections can share one fixed source port.
func ReuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(syscall.Handle(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}); err != nil {
		return err
	}
	return serr
}

// OOBInline does nothing on Windows: its stack delivers urgent data in
// line unless asked otherwise.
func OOBInline(net.Conn) {}

// AddrInUse reports whether err is a bind that failed because another
// socket holds the address: Winsock's WSAEADDRINUSE, which the syscall
// package's EADDRINUSE (an invented number on Windows) does not match.
func AddrInUse(err error) bool { return errors.Is(err, windows.WSAEADDRINUSE) }
