//go:build windows

package config

// SystemPath is where an installed ferry looks for its configuration when
// neither --config nor $FERRY_CONFIG names one: the machine-wide program
// data folder, as Windows services keep theirs.
const SystemPath = `C:\ProgramData\ferry\ferry.toml`
