//go:build unix

package sock

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ReuseAddr is a net.Dialer Control function that sets SO_REUSEADDR, so
// that several outgoing connections can share one fixed source port (FTP
// active mode from port 20) and the port can be reused in TIME_WAIT.
func ReuseAddr(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}); err != nil {
		return err
	}
	return serr
}

// OOBInline keeps TCP urgent data in the stream. FTP clients send ABOR (or
// the Telnet Synch before it) as urgent data (RFC 959 §4.1.3); without this
// the kernel takes the urgent byte out, and "ABOR\r\n" arrives as "ABOR\r".
func OOBInline(c net.Conn) {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) {
				unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_OOBINLINE, 1)
			})
		}
	}
}

// AddrInUse reports whether err is a bind that failed because another
// socket holds the address (EADDRINUSE).
func AddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
