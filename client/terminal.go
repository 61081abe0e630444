package client

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

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
	tty, out, err := openTerminal()
	if err != nil {
		return "", errNoTerminal
	}
	defer tty.Close()
	defer out.Close()
	if !term.IsTerminal(int(tty.Fd())) {
		return "", errNoTerminal
	}
	fmt.Fprint(out, prompt)
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(out)
	return string(b), err
}

// Confirm asks a yes/no question on the controlling terminal; only "y" or
// "yes" is yes. Without a terminal it fails.
func Confirm(question string) (bool, error) {
	tty, out, err := openTerminal()
	if err != nil {
		return false, withKind(ErrUsage, errors.New("no terminal to ask on: give --yes"))
	}
	defer tty.Close()
	defer out.Close()
	fmt.Fprint(out, "ferry: "+question)
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil && line == "" {
		return false, nil
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes", nil
}
