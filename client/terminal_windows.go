package client

import (
	"os"

	"golang.org/x/sys/windows"
)

// openTerminal opens the console: CONIN$ to read, CONOUT$ for prompts.
func openTerminal() (in, out *os.File, err error) {
	f, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	g, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, g, nil
}

// PrepareTerminal turns on the console's handling of the escapes that
// redraw progress lines; it reports false when the console cannot.
func PrepareTerminal(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	if windows.GetConsoleMode(h, &mode) != nil {
		return false
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
