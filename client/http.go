package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// httpConn is a Conn over ferry's REST API (/api/v1/files).
type httpConn struct {
	base       string // scheme://host:port
	user, pass string
	token      string // bearer token, once issued
	hc         *http.Client
	// borrowed: the token belongs to the connection this one was cloned
	// from, which revokes it.
	borrowed bool
	// ctx ends with abort: requests in flight stop.
	ctx    context.Context
	cancel context.CancelFunc
	rt     time.Duration // TCP connect time of the first request
}

const apiFiles = "/api/v1/files"

func dialHTTP(t Target, o *Options) (Conn, error) {
	user, pass, err := o.credentials(t, false)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSClientConfig:       o.tlsConfig(t),
		TLSHandshakeTimeout:   o.timeout(),
		ResponseHeaderTimeout: o.timeout(),
		ForceAttemptHTTP2:     true,
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &httpConn{
		ctx: ctx, cancel: cancel,
		base: t.Scheme + "://" + t.Addr(),
		user: user, pass: pass,
		hc: &http.Client{
			Transport: tr,
			// A redirect would resend the credentials elsewhere; ferry's
			// HTTP port redirects to HTTPS, which the user should name.
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				return withKind(ErrUsage, fmt.Errorf("server redirects to %s; use that URL", req.URL.Redacted()))
			},
		},
	}
	if t.Scheme == "http" {
		if err := c.upgrade(t, o); err != nil {
			return nil, err
		}
	}
	// Logging in once for a bearer token checks the connection, the trust
	// and the credentials before any transfer, and spares the server a
	// password hash on every request.
	if err := c.login(); err != nil {
		return nil, err
	}
	return c, nil
}

// clone is another connection of the same client: its own TCP (and TLS)
// connection, so that transfers run side by side instead of sharing one
// stream, with the same bearer token (no second login) and the same TLS
// configuration, whose session cache resumes the first TLS session.
func (c *httpConn) clone() (Conn, error) {
	tr := c.hc.Transport.(*http.Transport).Clone()
	hc := *c.hc
	hc.Transport = tr
	ctx, cancel := context.WithCancel(context.Background())
	return &httpConn{base: c.base, user: c.user, pass: c.pass, token: c.token, hc: &hc, borrowed: true, rt: c.rt,
		ctx: ctx, cancel: cancel}, nil
}

// probe asks about the root: an answer, whatever it says, proves the
// connection; only a failure to get one is an error (prober).
func (c *httpConn) probe() error {
	resp, err := c.do(http.MethodHead, "/", nil, nil)
	if err == nil {
		resp.Body.Close()
	}
	if errors.Is(err, ErrConnect) || errors.Is(err, ErrIncomplete) {
		return err
	}
	return nil
}

// abort stops the requests in flight.
func (c *httpConn) abort() {
	c.cancel()
	c.hc.CloseIdleConnections()
}

func (c *httpConn) rtt() time.Duration { return c.rt }

// login trades the password for a bearer token (POST /api/v1/token).
func (c *httpConn) login() error {
	req, err := http.NewRequest(http.MethodPost, c.base+"/api/v1/token", nil)
	if err != nil {
		return withKind(ErrUsage, err)
	}
	var connStart time.Time
	req = req.WithContext(httptrace.WithClientTrace(c.ctx, &httptrace.ClientTrace{
		ConnectStart: func(string, string) { connStart = time.Now() },
		ConnectDone: func(_, _ string, err error) {
			if err == nil && !connStart.IsZero() {
				c.rt = time.Since(connStart)
			}
		},
	}))
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&tok); err != nil || tok.Token == "" {
		return withKind(ErrRemote, fmt.Errorf("http: %s issued no token: %v", c.base, err))
	}
	c.token = tok.Token
	return nil
}

// upgrade asks a plain-HTTP server, without credentials, whether it
// redirects to HTTPS (ferry does when HTTPS is on) and then talks HTTPS to
// the same host, so the password never crosses the network in clear.
func (c *httpConn) upgrade(t Target, o *Options) error {
	probe := &http.Client{
		Transport:     c.hc.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := probe.Head(c.url("/", nil))
	if err != nil {
		return withKind(ErrConnect, fmt.Errorf("http: %s: %w", t.Addr(), err))
	}
	resp.Body.Close()
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return nil
	}
	loc, err := resp.Location()
	if err != nil || loc.Scheme != "https" || loc.Hostname() != t.Host {
		return withKind(ErrUsage, fmt.Errorf("http: %s redirects elsewhere (%s); use the target URL", t.Addr(), resp.Header.Get("Location")))
	}
	https := t
	https.Scheme, https.Port = "https", defaultPorts["https"]
	if p := loc.Port(); p != "" {
		if https.Port, err = strconv.Atoi(p); err != nil {
			return withKind(ErrUsage, fmt.Errorf("http: redirect to a bad port %q", p))
		}
	}
	c.hc.Transport.(*http.Transport).TLSClientConfig = o.tlsConfig(https)
	c.base = "https://" + https.Addr()
	o.notice("%s redirects to HTTPS; using %s", t.Addr(), c.base)
	return nil
}

func (c *httpConn) url(p string, query url.Values) string {
	u := c.base + apiFiles + (&url.URL{Path: "/" + strings.TrimPrefix(p, "/")}).EscapedPath()
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// do sends one request and turns a failure status into an error carrying
// the server's JSON message.
func (c *httpConn) do(method, p string, query url.Values, body io.Reader, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequest(method, c.url(p, query), body)
	if err != nil {
		return nil, withKind(ErrUsage, fmt.Errorf("http: %s %s: %w", method, p, err))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.send(req)
}

// send authenticates a request, sends it and turns a failure status into
// an error carrying the server's JSON message.
func (c *httpConn) send(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else {
		req.SetBasicAuth(c.user, c.pass)
	}
	method, p := req.Method, strings.TrimPrefix(req.URL.Path, apiFiles)
	if req.Context() == context.Background() && (req.Method != http.MethodDelete || !strings.HasSuffix(req.URL.Path, "/api/v1/token")) {
		// Every request but the token's revocation stops with abort.
		req = req.WithContext(c.ctx)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, ErrTrust) || errors.Is(err, ErrUsage) {
			return nil, err
		}
		return nil, withKind(ErrConnect, fmt.Errorf("http: %s %s: %w", method, p, err))
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	var msg struct {
		Error string `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(raw, &msg) != nil || msg.Error == "" {
		msg.Error = http.StatusText(resp.StatusCode)
	}
	err = fmt.Errorf("http: %s %s: %d %s", method, p, resp.StatusCode, msg.Error)
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, withKind(ErrAuth, err)
	}
	return nil, withKind(ErrRemote, err)
}

type apiEntry struct {
	Name     string    `json:"name"`
	Type     string    `json:"type"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	Link     bool      `json:"link"`
}

func (c *httpConn) List(p string) ([]Entry, error) {
	resp, err := c.do(http.MethodGet, p, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		return nil, withKind(ErrRemote, fmt.Errorf("http: %s is not a folder", p))
	}
	var l struct {
		Entries []apiEntry `json:"entries"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, withKind(ErrRemote, fmt.Errorf("http: listing %s: %w", p, err))
	}
	// What follows the JSON (a newline) is read, so that the connection
	// is reused rather than closed and dialled again.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	out := make([]Entry, 0, len(l.Entries))
	for _, e := range l.Entries {
		// A link is listed as its target (type "other" when the target
		// is missing or outside the home).
		out = append(out, Entry{Name: e.Name, Size: e.Size, ModTime: e.Modified, Dir: e.Type == "dir",
			Link: e.Link, Special: e.Type != "dir" && e.Type != "file", resolved: e.Link})
	}
	return out, nil
}

// Stat finds p in its parent's listing: the only answer of the API that
// tells a folder from a file that happens to hold JSON.
func (c *httpConn) Stat(p string) (Entry, error) {
	clean := path.Clean("/" + p)
	if clean == "/" {
		return Entry{Name: "/", Dir: true}, nil
	}
	es, err := c.List(path.Dir(clean))
	if err != nil {
		return Entry{}, err
	}
	for _, e := range es {
		if e.Name == path.Base(clean) {
			return e, nil
		}
	}
	return Entry{}, withKind(ErrRemote, fmt.Errorf("http: %s: no such file or folder", p))
}

func (c *httpConn) Open(p string, offset int64) (io.ReadCloser, error) {
	var hdr []string
	if offset > 0 {
		hdr = []string{"Range", "bytes=" + strconv.FormatInt(offset, 10) + "-"}
	}
	resp, err := c.do(http.MethodGet, p, nil, nil, hdr...)
	if err != nil {
		return nil, err
	}
	if offset > 0 && resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, withKind(ErrRemote, fmt.Errorf("http: server ignored the range request for %s (status %d)", p, resp.StatusCode))
	}
	return resp.Body, nil
}

// openSection asks for bytes off to off+n-1 (Range).
func (c *httpConn) openSection(p string, off, n int64) (io.ReadCloser, error) {
	rng := "bytes=" + strconv.FormatInt(off, 10) + "-" + strconv.FormatInt(off+n-1, 10)
	resp, err := c.do(http.MethodGet, p, nil, nil, "Range", rng)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, withKind(ErrRemote, fmt.Errorf("http: server ignored the range request for %s (status %d)", p, resp.StatusCode))
	}
	return resp.Body, nil
}

// ErrNoResume is returned by Create when the protocol cannot continue a
// partial upload; the transfer then sends the whole file.
var ErrNoResume = errors.New("resuming an upload is not possible over this protocol")

// Create streams the body of a PUT; the API stores uploads atomically, so
// an upload is continued by createAt, which knows the size.
func (c *httpConn) Create(p string, offset int64) (io.WriteCloser, error) {
	if offset > 0 {
		return nil, ErrNoResume
	}
	pr, pw := io.Pipe()
	w := &httpUpload{pw: pw, done: make(chan error, 1)}
	go func() {
		resp, err := c.do(http.MethodPut, p, nil, pr, "Content-Type", "application/octet-stream")
		if err == nil {
			resp.Body.Close()
		}
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

// createAt continues an upload of size bytes at offset: a PUT of the
// rest with Content-Range (a partial PUT, RFC 9110 §14.5), which ferry's
// API writes in place at offset.
func (c *httpConn) createAt(p string, offset, size int64) (io.WriteCloser, error) {
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, c.url(p, nil), pr)
	if err != nil {
		return nil, withKind(ErrUsage, fmt.Errorf("http: PUT %s: %w", p, err))
	}
	req.ContentLength = size - offset
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", offset, size-1, size))
	w := &httpUpload{pw: pw, done: make(chan error, 1)}
	go func() {
		resp, err := c.send(req)
		if err == nil {
			resp.Body.Close()
		}
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w, nil
}

type httpUpload struct {
	pw   *io.PipeWriter
	done chan error
}

func (u *httpUpload) Write(b []byte) (int, error) { return u.pw.Write(b) }

func (u *httpUpload) Close() error {
	u.pw.Close()
	return <-u.done
}

func (c *httpConn) simple(method, p string, q url.Values) error {
	resp, err := c.do(method, p, q, nil)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

func (c *httpConn) Remove(p string) error    { return c.simple(http.MethodDelete, p, nil) }
func (c *httpConn) RemoveDir(p string) error { return c.simple(http.MethodDelete, p, nil) }
func (c *httpConn) Mkdir(p string) error {
	return c.simple(http.MethodPost, p, url.Values{"op": {"mkdir"}})
}
func (c *httpConn) Rename(from, to string) error {
	return c.simple(http.MethodPost, from, url.Values{"op": {"rename"}, "to": {to}})
}

// Close revokes the token and drops idle connections.
func (c *httpConn) Close() error {
	var err error
	if c.token != "" && !c.borrowed {
		var req *http.Request
		if req, err = http.NewRequest(http.MethodDelete, c.base+"/api/v1/token", nil); err == nil {
			var resp *http.Response
			if resp, err = c.send(req); err == nil {
				resp.Body.Close()
			}
		}
		c.token = ""
	}
	c.hc.CloseIdleConnections()
	return err
}
