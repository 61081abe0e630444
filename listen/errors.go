package listen

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ferry-project/ferry/internal/sock"
)

// Errors of the passive pool and the active dial; they come wrapped with
// the details, so test them with errors.Is.
var (
	// ErrPassiveExhausted means every port of the passive range is held,
	// by ferry or by other programs.
	ErrPassiveExhausted = errors.New("no free port in the passive range")
	// ErrPassivePerUser means the owner already holds as many passive
	// ports as ftp.passive_per_user allows.
	ErrPassivePerUser = errors.New("too many passive ports held by one user")
	// ErrNoActive means the plan has no active data connections for the
	// service (ftp.active = false, or not an FTP service).
	ErrNoActive = errors.New("active data connections are turned off")
)

// BindError turns a failed bind into advice an administrator can act on.
func BindError(s Service, port int, key string, err error) error {
	switch {
	case errors.Is(err, syscall.EACCES) && port < 1024:
		return fmt.Errorf("%s: port %d needs root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on the binary); or set %s in the config: %w", s, port, key, err)
	case sock.AddrInUse(err):
		return fmt.Errorf("%s: port %d is already in use by another program; stop it or set %s in the config: %w", s, port, key, err)
	}
	return fmt.Errorf("%s: listen on port %d (%s): %w", s, port, key, err)
}
