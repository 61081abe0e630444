package client

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// PrintEntries writes a listing, one entry a line: type, size, time, name
// (folders end in "/").
func PrintEntries(w io.Writer, es []Entry) {
	for _, e := range es {
		kind, name := "-", e.Name
		if e.Dir {
			kind, name = "d", e.Name+"/"
		}
		when := ""
		if !e.ModTime.IsZero() {
			when = e.ModTime.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(w, "%s %12d %-16s %s\n", kind, e.Size, when, name)
	}
}

var errNoTerminal = errors.New("no terminal to ask on; set FERRY_PASSWORD")

// PromptTerminal reads a password or passphrase from the controlling
// terminal without echo. Without a terminal it fails at once, so scripts
// never hang on a prompt.
func PromptTerminal(prompt string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", errNoTerminal
	}
	defer tty.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", errNoTerminal
	}
	fmt.Fprint(tty, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	return string(b), err
}
