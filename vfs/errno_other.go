//go:build !unix && !windows

package vfs

// sysKind knows no system error numbers on this platform: errors keep
// their own text, and fs.ErrNotExist, fs.ErrExist and fs.ErrPermission
// are still recognised through errors.Is.
func sysKind(error) error { return nil }
