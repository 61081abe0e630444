//go:build !linux

package privsep

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// ErrUnsupported is what run_as gets where ferry cannot drop privileges:
// run the service as its own account instead (a Windows service account,
// a launchd UserName).
var ErrUnsupported = errors.New("run_as is supported on Linux only; start ferry as the account it should run as")

// Account is the user and group a server drops to.
type Account struct {
	Name     string
	UID, GID int
	Groups   []int
}

// Lookup fails: see ErrUnsupported.
func Lookup(string) (Account, error) { return Account{}, ErrUnsupported }

// Drop fails: see ErrUnsupported.
func Drop(Account) error { return ErrUnsupported }

// Helper does not exist here.
type Helper struct{}

// HelperArg is the hidden subcommand of the helper.
const HelperArg = "__privsep-helper"

// Start fails: see ErrUnsupported.
func Start([]int) (*Helper, error) { return nil, ErrUnsupported }

// Close does nothing.
func (*Helper) Close() error { return nil }

// Dial fails: see ErrUnsupported.
func (*Helper) Dial(context.Context, netip.Addr, int, netip.AddrPort) (net.Conn, error) {
	return nil, ErrUnsupported
}

// Serve fails: see ErrUnsupported.
func Serve([]string) error { return ErrUnsupported }
