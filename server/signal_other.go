//go:build !unix

package server

import "errors"

// signalReload has no signal to send where there is no SIGHUP: restart the
// service instead.
func signalReload(int) error {
	return errors.New("reload by signal is not available on this platform; restart the service")
}
