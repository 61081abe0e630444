package wire

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Reply is one numbered reply; Lines holds the text of each line without
// the code (one entry for a single-line reply).
type Reply struct {
	Code  int
	Lines []string
}

// Text joins the reply's lines with newlines.
func (r Reply) Text() string { return strings.Join(r.Lines, "\n") }

// Error lets a failed reply travel as an error.
func (r Reply) Error() string { return fmt.Sprintf("%d %s", r.Code, r.Text()) }

// Positive reports a 1xx, 2xx or 3xx reply.
func (r Reply) Positive() bool { return r.Code >= 100 && r.Code < 400 }

// Format writes the reply in the RFC 959 layout: "CODE text" for one line;
// "CODE-first", continuation lines indented by one space, "CODE last" for
// several. A continuation line that happens to start with digits is safe
// because of the indent.
func (r Reply) Format() string {
	lines := r.Lines
	if len(lines) == 0 {
		lines = []string{""}
	}
	var b strings.Builder
	code := strconv.Itoa(r.Code)
	for i, l := range lines {
		switch {
		case len(lines) == 1:
			b.WriteString(code + " " + l)
		case i == 0:
			b.WriteString(code + "-" + l)
		case i == len(lines)-1:
			b.WriteString(code + " " + l)
		default:
			b.WriteString(" " + l)
		}
		b.WriteString("\r\n")
	}
	return b.String()
}

// ReadReply reads one reply, single- or multi-line. Lines longer than
// MaxLine are an error rather than unbounded growth.
func ReadReply(r *bufio.Reader) (Reply, error) {
	first, err := readLine(r)
	if err != nil {
		return Reply{}, err
	}
	code, sep, text, err := splitCode(first)
	if err != nil {
		return Reply{}, err
	}
	rep := Reply{Code: code, Lines: []string{text}}
	if sep != '-' {
		return rep, nil
	}
	prefix := first[:3] + " "
	for {
		l, err := readLine(r)
		if err != nil {
			return Reply{}, fmt.Errorf("reply %d: %w", code, err)
		}
		if strings.HasPrefix(l, prefix) {
			rep.Lines = append(rep.Lines, l[4:])
			return rep, nil
		}
		if l == first[:3] {
			rep.Lines = append(rep.Lines, "")
			return rep, nil
		}
		rep.Lines = append(rep.Lines, strings.TrimPrefix(l, " "))
	}
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > MaxLine {
			return "", fmt.Errorf("%w: reply line longer than %d bytes", ErrSyntax, MaxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
}

func splitCode(l string) (code int, sep byte, text string, err error) {
	if len(l) < 3 {
		return 0, 0, "", fmt.Errorf("%w: short reply %q", ErrSyntax, l)
	}
	code, err = strconv.Atoi(l[:3])
	if err != nil || code < 100 || code > 599 {
		return 0, 0, "", fmt.Errorf("%w: reply %q has no code", ErrSyntax, truncate(l))
	}
	if len(l) == 3 {
		return code, ' ', "", nil
	}
	if l[3] != ' ' && l[3] != '-' {
		return 0, 0, "", fmt.Errorf("%w: reply %q has no code", ErrSyntax, truncate(l))
	}
	return code, l[3], l[4:], nil
}
