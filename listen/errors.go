package listen

import (
	"errors"
	"fmt"
	"syscall"
)

// BindError turns a failed bind into advice an administrator can act on.
func BindError(s Service, port int, key string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES) && port < 1024:
		return fmt.Errorf("%s: port %d needs root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on the binary); or set %s in the config: %w", s, port, key, err)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("%s: port %d is already in use by another program; stop it or set %s in the config: %w", s, port, key, err)
	}
	return fmt.Errorf("%s: listen on port %d (%s): %w", s, port, key, err)
}
