package listen

import (
	"errors"
	"log/slog"
	"net"
	"time"
)

// Accept runs an accept loop on ln, handing every connection to handle,
// until ln is closed. Temporary errors (a machine out of file descriptors)
// are retried with a growing pause instead of ending the service. It
// returns net.ErrClosed once ln is closed, and any other error as is.
func Accept(ln net.Listener, log *slog.Logger, handle func(net.Conn)) error {
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return net.ErrClosed
			}
			if isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				log.Warn("accept failed; retrying", "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		handle(c)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	if errors.As(err, &t) && t.Temporary() {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
