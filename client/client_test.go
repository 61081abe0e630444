package client

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Target
		err  string
	}{
		{"ftp://h/dir/f.txt", Target{Scheme: "ftp", Host: "h", Port: 21, Path: "dir/f.txt"}, ""},
		{"ftpes://u:p%40ss@h:2121/", Target{Scheme: "ftpes", Host: "h", Port: 2121, User: "u", Password: "p@ss", HasPass: true, Path: "."}, ""},
		{"ftps://h/%2Fetc/x", Target{Scheme: "ftps", Host: "h", Port: 990, Path: "/etc/x"}, ""},
		{"sftp://u@[::1]/srv/data", Target{Scheme: "sftp", Host: "::1", Port: 22, User: "u", Path: "/srv/data"}, ""},
		{"sftp://h/~/notes", Target{Scheme: "sftp", Host: "h", Port: 22, Path: "notes"}, ""},
		{"sftp://h", Target{Scheme: "sftp", Host: "h", Port: 22, Path: "."}, ""},
		{"https://h/a%20b", Target{Scheme: "https", Host: "h", Port: 443, Path: "/a b"}, ""},
		{"http://h", Target{Scheme: "http", Host: "h", Port: 80, Path: "/"}, ""},
		{"gopher://h/", Target{}, "scheme must be"},
		{"ftp:///x", Target{}, "no host"},
		{"ftp://h:0/", Target{}, "not 1-65535"},
		{"ftp://h:99999/", Target{}, "not 1-65535"},
		{"ftp://u:secret@h/a%0d%0aDELE%20x", Target{}, "control character"},
		{"sftp://h/~/a%23b%3F%25%20c.txt", Target{Scheme: "sftp", Host: "h", Port: 22, Path: "a#b?% c.txt"}, ""},
		{"https://h/dir/a#b.txt", Target{}, "%23"},
		{"https://h/dir/a#", Target{}, "%23"},
		{"ftp://u:secret@h/what?.txt", Target{}, "%3F"},
		{"sftp://h/100%.txt", Target{}, "%25"},
	} {
		got, err := ParseURL(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || ExitCode(err) != ExitUsage {
				t.Errorf("ParseURL(%q) error %v, want %q with exit %d", tc.raw, err, tc.err, ExitUsage)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseURL(%q) error shows the password: %v", tc.raw, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	base := errors.New("x")
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{base, ExitFailure},
		{withKind(ErrUsage, base), ExitUsage},
		{withKind(ErrConnect, base), ExitConnect},
		{withKind(ErrAuth, base), ExitAuth},
		{withKind(ErrTrust, base), ExitTrust},
		{withKind(ErrRemote, base), ExitRemote},
		{withKind(ErrLocal, base), ExitLocal},
		{withKind(ErrIncomplete, base), ExitIncomplete},
		// The first kind sticks: a trust failure seen while connecting
		// stays a trust failure.
		{withKind(ErrConnect, withKind(ErrTrust, base)), ExitTrust},
		{fmt.Errorf("wrapped: %w", withKind(ErrAuth, base)), ExitAuth},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if withKind(ErrRemote, base).Error() != "x" {
		t.Error("withKind changed the message")
	}
}

func TestCredentials(t *testing.T) {
	ftp := Target{Scheme: "ftp", Host: "h"}
	withPass := Target{Scheme: "ftp", Host: "h", User: "url", Password: "urlpw", HasPass: true}
	asked := 0
	prompt := func(string) (string, error) { asked++; return "typed", nil }
	for _, tc := range []struct {
		name       string
		t          Target
		o          Options
		anon       bool
		user, pass string
		exit       int
		asks       int
	}{
		{"anonymous FTP", ftp, Options{}, true, "anonymous", "ferry@", 0, 0},
		{"URL password wins", withPass, Options{Password: "env"}, true, "url", "urlpw", 0, 0},
		{"--user overrides URL user", withPass, Options{User: "flag"}, true, "flag", "urlpw", 0, 0},
		{"env password", Target{Scheme: "https", Host: "h", User: "u"}, Options{Password: "env", Prompt: prompt}, false, "u", "env", 0, 0},
		{"prompt", Target{Scheme: "https", Host: "h", User: "u"}, Options{Prompt: prompt}, false, "u", "typed", 0, 1},
		{"no prompt, no password", Target{Scheme: "https", Host: "h", User: "u"}, Options{}, false, "", "", ExitAuth, 0},
		{"no user", Target{Scheme: "https", Host: "h"}, Options{}, false, "", "", ExitUsage, 0},
	} {
		asked = 0
		u, p, err := tc.o.credentials(tc.t, tc.anon)
		if u != tc.user || p != tc.pass || ExitCode(err) != tc.exit || asked != tc.asks {
			t.Errorf("%s: got %q %q %v (asked %d)", tc.name, u, p, err, asked)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, raw := range []string{"ftp://u:hunter2@h/x", "sftp://u:hunter2@h:22/", "ftp://u:hunter2@h/%zz"} {
		if r := Redact(raw); strings.Contains(r, "hunter2") {
			t.Errorf("Redact(%q) = %q", raw, r)
		}
	}
}

func TestBarLine(t *testing.T) {
	b := &bar{name: "file.bin", total: 4 << 20, offset: 1 << 20}
	b.n.Store(1 << 20)
	line := b.line(2 * time.Second)
	for _, want := range []string{"file.bin", " 50%", "2.0 MiB", "512.0 KiB/s", "ETA 00:04", "[==========          ]"} {
		if !strings.Contains(line, want) {
			t.Errorf("bar %q lacks %q", line, want)
		}
	}
	long := &bar{name: strings.Repeat("n", 40), total: 0}
	if l := long.line(time.Second); !strings.Contains(l, "...") || !strings.Contains(l, "100%") || !strings.Contains(l, "ETA --:--") {
		t.Errorf("bar for an empty file with a long name: %q", l)
	}
	if got := clock(3725 * time.Second); got != "1:02:05" {
		t.Errorf("clock = %q", got)
	}
}

func TestPrintEntries(t *testing.T) {
	var b strings.Builder
	PrintEntries(&b, []Entry{{Name: "f.bin", Size: 42}, {Name: "sub", Dir: true, ModTime: time.Date(2025, 1, 2, 3, 4, 0, 0, time.Local)}})
	want := "-           42                  f.bin\nd            0 2025-01-02 03:04 sub/\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}
