//go:build !windows

package client

import "os"

// openTerminal opens the controlling terminal, to read from and to write
// prompts to.
func openTerminal() (in, out *os.File, err error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	g, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, g, nil
}

// PrepareTerminal readies a terminal for redrawn progress lines; on Unix
// terminals understand the escapes already.
func PrepareTerminal(*os.File) bool { return true }
