package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Entry is one file or folder on the server.
type Entry struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"modified,omitzero"`
	Dir     bool      `json:"dir"`
	// Link marks a symbolic link, when the protocol tells. Target is where
	// it points, when the protocol tells that too.
	Link   bool   `json:"link,omitempty"`
	Target string `json:"target,omitempty"`
	// Special is neither a file nor a folder (a device, a socket, a link
	// that leads nowhere the server serves).
	Special bool `json:"special,omitempty"`
	// resolved says that Dir, Size and ModTime of a link describe its
	// target, as the listing already followed it.
	resolved bool
	// id is the server's identity of the entry (MLSx "unique"), if any.
	id string
}

// Conn is an open session with a server, whatever the protocol. Paths are
// the protocol's own (see Target.Path).
type Conn interface {
	List(path string) ([]Entry, error)
	Stat(path string) (Entry, error)
	// Open reads a file from offset on.
	Open(path string, offset int64) (io.ReadCloser, error)
	// Create writes a file; offset > 0 continues a partial file of that
	// size. Close reports whether the server stored it.
	Create(path string, offset int64) (io.WriteCloser, error)
	Remove(path string) error
	RemoveDir(path string) error
	Mkdir(path string) error
	Rename(from, to string) error
	Close() error
}

// Target is a parsed server URL.
type Target struct {
	Scheme   string // ftp, ftpes, ftps, sftp, http, https, dav, davs
	Host     string // without brackets
	Port     int
	User     string
	Password string
	HasPass  bool
	// Path is the path in the protocol's terms: for FTP relative to the
	// login folder unless the URL starts with %2F (RFC 1738); for SFTP
	// absolute unless it starts with /~/ (home); for HTTP(S) the path under
	// /api/v1/files; for WebDAV the server's URL path.
	Path string
}

var defaultPorts = map[string]int{"ftp": 21, "ftpes": 21, "ftps": 990, "sftp": 22, "http": 80, "https": 443, "dav": 80, "davs": 443}

// ParseURL reads a server URL such as ftpes://user@host:2121/dir/file.
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ee url.EscapeError
		if errors.As(err, &ee) {
			return Target{}, withKind(ErrUsage, fmt.Errorf(`URL: %w; write %%25 for a "%%" in a name`, redactURLError(err)))
		}
		return Target{}, withKind(ErrUsage, fmt.Errorf("URL: %w", redactURLError(err)))
	}
	t := Target{Scheme: strings.ToLower(u.Scheme), Host: u.Hostname()}
	def, ok := defaultPorts[t.Scheme]
	if !ok {
		return Target{}, withKind(ErrUsage, fmt.Errorf("URL %q: scheme must be ftp, ftpes, ftps, sftp, http, https, dav or davs", redact(raw)))
	}
	if t.Host == "" {
		return Target{}, withKind(ErrUsage, fmt.Errorf("URL %q has no host", redact(raw)))
	}
	t.Port = def
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, withKind(ErrUsage, fmt.Errorf("URL %q: port %q is not 1-65535", redact(raw), p))
		}
		t.Port = n
	}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, t.HasPass = u.User.Password()
	}
	if strings.ContainsRune(raw, '#') {
		return Target{}, withKind(ErrUsage, fmt.Errorf(`URL %q: a "#" ends the path (the rest is a fragment); write %%23 for a "#" in a name`, redact(raw)))
	}
	if u.RawQuery != "" || u.ForceQuery {
		return Target{}, withKind(ErrUsage, fmt.Errorf(`URL %q: a "?" ends the path (the rest is a query); write %%3F for a "?" in a name`, redact(raw)))
	}
	p := u.EscapedPath()
	if strings.ContainsAny(u.Path, "\x00\r\n") {
		return Target{}, withKind(ErrUsage, fmt.Errorf("URL %q: control character in path", redact(raw)))
	}
	switch t.Scheme {
	case "ftp", "ftpes", "ftps":
		abs := strings.HasPrefix(strings.ToUpper(p), "/%2F")
		t.Path = strings.TrimPrefix(u.Path, "/")
		if abs && !strings.HasPrefix(t.Path, "/") {
			t.Path = "/" + t.Path
		}
	case "sftp":
		t.Path = u.Path
		if t.Path == "/~" || strings.HasPrefix(t.Path, "/~/") {
			t.Path = strings.TrimPrefix(strings.TrimPrefix(t.Path, "/~"), "/")
		}
	default:
		t.Path = u.Path
		if t.Path == "" {
			t.Path = "/"
		}
	}
	if t.Path == "" {
		t.Path = "."
	}
	return t, nil
}

// Addr is host:port.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// redact removes a password from a URL for messages.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "xxxxx" + raw[i:]
		}
	}
	return raw
}

// redactURLError drops the URL text that url.Parse puts in its errors, which
// may hold a password.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// PortRange is the range of local ports the client listens on in active
// FTP mode; zero means any port.
type PortRange struct{ Low, High int }

// Options are the settings of one session.
type Options struct {
	// User overrides the URL's user name.
	User string
	// Password is used when the URL has none; the caller fills it from
	// FERRY_PASSWORD. When both are empty, Prompt asks.
	Password string
	// Prompt reads a secret without echo (nil: never ask).
	Prompt func(prompt string) (string, error)
	// Identity is an SSH private key file; the SSH agent is used too.
	Identity string
	// Insecure accepts any certificate or host key.
	Insecure bool
	// NoTLS keeps ftp:// in cleartext even when the server offers TLS.
	NoTLS bool
	// KnownHosts is the trust-on-first-use file for TLS certificates;
	// SSHKnownHosts the OpenSSH known_hosts file. "" means the default.
	KnownHosts    string
	SSHKnownHosts string
	// Active selects active FTP; ActiveAddress is the address put in
	// PORT/EPRT (the public one behind NAT); ActivePorts the listening range.
	Active        bool
	ActiveAddress string
	ActivePorts   PortRange
	// Timeout bounds connecting and each wait for the server.
	Timeout time.Duration
	// Notice receives warnings meant for the user (first-use trust).
	Notice io.Writer
	// Trace receives the protocol dialogue with secrets removed.
	Trace io.Writer
}

func (o *Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 30 * time.Second
	}
	return o.Timeout
}

func (o *Options) notice(format string, args ...any) {
	if o.Notice != nil {
		fmt.Fprintf(o.Notice, "ferry: "+format+"\n", args...)
	}
}

// credentials resolves the user name and password for a password login.
func (o *Options) credentials(t Target, anonymous bool) (user, pass string, err error) {
	user = t.User
	if o.User != "" {
		user = o.User
	}
	if user == "" && anonymous {
		return "anonymous", "ferry@", nil
	}
	if user == "" {
		return "", "", withKind(ErrUsage, fmt.Errorf("no user name: put it in the URL (%s://USER@%s) or use --user", t.Scheme, t.Host))
	}
	if t.HasPass {
		return user, t.Password, nil
	}
	if o.Password != "" {
		return user, o.Password, nil
	}
	if o.Prompt == nil {
		return "", "", withKind(ErrAuth, fmt.Errorf("no password for %s: set FERRY_PASSWORD or run on a terminal", user))
	}
	pass, err = o.Prompt(fmt.Sprintf("password for %s@%s: ", user, t.Host))
	if err != nil {
		return "", "", withKind(ErrAuth, fmt.Errorf("reading password: %w", err))
	}
	return user, pass, nil
}

// Dial opens a session with the server named by t.
func Dial(t Target, o Options) (Conn, error) {
	switch t.Scheme {
	case "ftp", "ftpes", "ftps":
		return dialFTP(t, &o)
	case "sftp":
		return dialSFTP(t, &o)
	case "http", "https":
		return dialHTTP(t, &o)
	case "dav", "davs":
		return dialDAV(t, &o)
	}
	return nil, withKind(ErrUsage, fmt.Errorf("unknown scheme %q", t.Scheme))
}

// homeDir is the user's home, for default file locations.
func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}
