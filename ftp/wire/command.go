package wire

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLine is the longest command line, CRLF included, that a server
// accepts. Paths longer than this are not useful and an unbounded line
// would let a client exhaust memory.
const MaxLine = 4096

// Telnet control bytes that clients put around ABOR (RFC 959 §4.1.3: IP and
// Synch). They carry no meaning for the command itself.
const (
	telnetIAC = 0xFF
	telnetIP  = 0xF4
	telnetDM  = 0xF2
)

// ErrSyntax is wrapped by every command-line parse error.
var ErrSyntax = errors.New("syntax error")

// Command is one parsed command line.
type Command struct {
	// Verb is the command name in upper case ("RETR").
	Verb string
	// Arg is everything after the first space, unchanged: file names may
	// start or end with spaces.
	Arg string
}

// ParseCommand splits a command line into verb and argument. A trailing
// CRLF (or a bare LF) is removed, Telnet IAC sequences are dropped, and
// the verb must be 3 to 7 ASCII letters, optionally ending in digits:
// RFC 959's are 3 or 4 letters, and the hash commands that some clients
// send (XSHA1, XSHA256) are longer. The argument must be valid UTF-8
// (RFC 2640) and must not contain NUL, CR or LF.
func ParseCommand(line string) (Command, error) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	line = stripTelnet(line)
	if line == "" {
		return Command{}, fmt.Errorf("%w: empty command", ErrSyntax)
	}
	verb, arg, _ := strings.Cut(line, " ")
	if len(verb) < 3 || len(verb) > 7 {
		return Command{}, fmt.Errorf("%w: %q is not a command", ErrSyntax, truncate(verb))
	}
	digits := false
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		isDigit := c >= '0' && c <= '9'
		digits = digits || isDigit && i > 0
		if !isDigit && (digits || (c < 'A' || c > 'Z') && (c < 'a' || c > 'z')) || isDigit && i == 0 {
			return Command{}, fmt.Errorf("%w: %q is not a command", ErrSyntax, truncate(verb))
		}
	}
	if !utf8.ValidString(arg) {
		return Command{}, fmt.Errorf("%w: argument is not UTF-8", ErrSyntax)
	}
	if strings.ContainsAny(arg, "\x00\r\n") {
		return Command{}, fmt.Errorf("%w: control character in argument", ErrSyntax)
	}
	return Command{Verb: strings.ToUpper(verb), Arg: arg}, nil
}

// stripTelnet removes Telnet commands: IAC IAC stands for one 0xFF byte,
// IAC followed by any other byte is dropped together with that byte.
func stripTelnet(s string) string {
	if strings.IndexByte(s, telnetIAC) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != telnetIAC {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == telnetIAC {
			b.WriteByte(telnetIAC)
		}
		i++
	}
	return b.String()
}

func truncate(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}

// String formats the command as it goes on the wire, without CRLF.
func (c Command) String() string {
	if c.Arg == "" {
		return c.Verb
	}
	return c.Verb + " " + c.Arg
}
