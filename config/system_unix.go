//go:build !windows

package config

// SystemPath is where an installed ferry looks for its configuration when
// neither --config nor $FERRY_CONFIG names one.
const SystemPath = "/etc/ferry/ferry.toml"
