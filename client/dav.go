package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// davConn is a Conn over WebDAV (RFC 4918): nginx's dav modules, Apache
// mod_dav, SFTPGo, ferry's own /dav. Paths are the server's URL paths,
// decoded; every request escapes them segment by segment.
type davConn struct {
	base       string // http(s)://host:port
	user, pass string
	hc         *http.Client
	ctx        context.Context
	cancel     context.CancelFunc
	rt         time.Duration
	// ranges is shared by the clones: 0 unknown, 1 the server answers a
	// Range with 206, -1 it sends the whole file instead.
	ranges *atomic.Int32
}

func dialDAV(t Target, o *Options) (Conn, error) {
	user, pass, err := o.credentials(t, false)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   o.timeout(),
		ResponseHeaderTimeout: o.timeout(),
		// HTTP/1.1 only: each clone is a TCP connection of its own, which
		// is what fills a long path (see clone).
		ForceAttemptHTTP2:   false,
		MaxIdleConnsPerHost: 2,
	}
	if t.Scheme == "dav" {
		scheme = "http"
	} else {
		tr.TLSClientConfig = o.tlsConfig(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &davConn{
		base: scheme + "://" + t.Addr(), user: user, pass: pass,
		ctx: ctx, cancel: cancel, ranges: new(atomic.Int32),
		hc: &http.Client{
			Transport: tr,
			// A redirect is answered here (a collection named without its
			// slash), never followed with the credentials elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if t.Scheme == "dav" {
		if err := c.upgrade(t, o); err != nil {
			c.Close()
			return nil, err
		}
	}
	// One PROPFIND of the target checks the connection, the trust and the
	// credentials before any transfer; a target that does not exist yet
	// (an upload) is fine.
	var connStart time.Time
	trace := &httptrace.ClientTrace{
		ConnectStart: func(string, string) { connStart = time.Now() },
		ConnectDone: func(_, _ string, err error) {
			if err == nil && !connStart.IsZero() {
				c.rt = time.Since(connStart)
			}
		},
	}
	resp, err := c.request(httptrace.WithClientTrace(ctx, trace), "PROPFIND", t.Path, false, strings.NewReader(propfindBody), "Depth", "0")
	if err != nil {
		c.Close()
		return nil, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxMultistatus))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusProxyAuthRequired:
		c.Close()
		return nil, withKind(ErrAuth, fmt.Errorf("dav: login as %s refused (%d)", user, code))
	case notDAV(code):
		c.Close()
		return nil, withKind(ErrRemote, fmt.Errorf("dav: %s%s does not offer WebDAV (PROPFIND answered %d)", t.Addr(), t.Path, code))
	}
	return c, nil
}

// upgrade asks a dav:// server, without credentials, whether it redirects
// to HTTPS on the same host (ferry's HTTP port does) and then talks HTTPS,
// as http:// does. A server that does not gets the password in clear, as
// ftp:// to a server without TLS does, and the user is told so.
func (c *davConn) upgrade(t Target, o *Options) error {
	req, err := http.NewRequestWithContext(c.ctx, "PROPFIND", c.base+davEscape(t.Path, false), strings.NewReader(propfindBody))
	if err != nil {
		return withKind(ErrUsage, fmt.Errorf("dav: %w", err))
	}
	req.Header.Set("Depth", "0")
	resp, err := c.hc.Do(req)
	if err != nil {
		return withKind(ErrConnect, fmt.Errorf("dav: %s: %w", t.Addr(), err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	loc, lerr := resp.Location()
	if resp.StatusCode < 300 || resp.StatusCode > 399 || lerr != nil || loc.Scheme != "https" || loc.Hostname() != t.Host {
		o.notice("dav://%s is not encrypted: the password and the files cross the network in clear; use davs:// where the server has TLS", t.Addr())
		return nil
	}
	https := t
	https.Scheme, https.Port = "davs", defaultPorts["davs"]
	if p := loc.Port(); p != "" {
		if https.Port, err = strconv.Atoi(p); err != nil {
			return withKind(ErrUsage, fmt.Errorf("dav: redirect to a bad port %q", p))
		}
	}
	c.hc.Transport.(*http.Transport).TLSClientConfig = o.tlsConfig(https)
	c.base = "https://" + https.Addr()
	o.notice("%s redirects to HTTPS; using %s", t.Addr(), c.base)
	return nil
}

// clone is another connection to the same server: a transport of its own,
// so its own TCP (and TLS) connection, as each segment of a file wants a
// stream of its own to fill a long path (and as HTTPS does since d36ac31,
// one transfer per connection); the TLS configuration and so its session
// cache are shared, which resumes the first session.
func (c *davConn) clone() (Conn, error) {
	tr := c.hc.Transport.(*http.Transport).Clone()
	hc := *c.hc
	hc.Transport = tr
	ctx, cancel := context.WithCancel(context.Background())
	return &davConn{base: c.base, user: c.user, pass: c.pass, hc: &hc, ctx: ctx, cancel: cancel, rt: c.rt, ranges: c.ranges}, nil
}

func (c *davConn) rtt() time.Duration { return c.rt }

// probe asks about the root: an answer, whatever it says, proves the
// connection; only a failure to get one is an error (prober).
func (c *davConn) probe() error {
	if _, err := c.Stat("/"); errors.Is(err, ErrConnect) || errors.Is(err, ErrIncomplete) {
		return err
	}
	return nil
}

// hidesLinks: a WebDAV server serves a link as its target (linkHider).
func (c *davConn) hidesLinks() {}

// abort stops the requests in flight.
func (c *davConn) abort() {
	c.cancel()
	c.hc.CloseIdleConnections()
}

// Close drops the idle connection; WebDAV has no session to end.
func (c *davConn) Close() error {
	c.hc.CloseIdleConnections()
	c.cancel()
	return nil
}

// request sends one request with Basic credentials and returns whatever
// status comes back; only a failure to talk is an error.
func (c *davConn) request(ctx context.Context, method, p string, dir bool, body io.Reader, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+davEscape(p, dir), body)
	if err != nil {
		return nil, withKind(ErrUsage, fmt.Errorf("dav: %s %s: %w", method, p, err))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if method == "PROPFIND" {
		req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	}
	req.SetBasicAuth(c.user, c.pass)
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, ErrTrust) || errors.Is(err, ErrUsage) {
			return nil, err
		}
		return nil, withKind(ErrConnect, fmt.Errorf("dav: %s %s: %w", method, p, err))
	}
	return resp, nil
}

// do sends a request and turns a status of 300 or more into an error
// (the body is drained and closed then).
func (c *davConn) do(method, p string, dir bool, body io.Reader, hdr ...string) (*http.Response, error) {
	resp, err := c.request(c.ctx, method, p, dir, body, hdr...)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return nil, davStatusErr(method, p, resp.StatusCode)
}

// propfind lists p at depth 0 or 1. A collection named without its slash
// may be redirected to the name with it (Apache), which is asked again.
func (c *davConn) propfind(p string, depth string, dir bool) ([]davEntry, error) {
	resp, err := c.request(c.ctx, "PROPFIND", p, dir, strings.NewReader(propfindBody), "Depth", depth)
	if err != nil {
		return nil, err
	}
	if !dir && (resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusFound) &&
		strings.HasSuffix(resp.Header.Get("Location"), "/") {
		resp.Body.Close()
		return c.propfind(p, depth, true)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if notDAV(resp.StatusCode) {
			return nil, withKind(ErrRemote, fmt.Errorf("dav: PROPFIND %s: status %d: the server does not offer WebDAV there", p, resp.StatusCode))
		}
		return nil, davStatusErr("PROPFIND", p, resp.StatusCode)
	}
	es, err := parseMultistatus(resp.Body)
	if err != nil {
		return nil, withKind(ErrRemote, fmt.Errorf("dav: PROPFIND %s: %w", p, err))
	}
	return es, nil
}

// notDAV tells the answers to PROPFIND of a server (or a place on it)
// that does not speak WebDAV: a plain page, or the method refused.
func notDAV(code int) bool {
	return code < 300 && code != http.StatusMultiStatus || code == http.StatusMethodNotAllowed || code == http.StatusNotImplemented
}

// self is the entry that describes p itself in a multistatus.
func self(es []davEntry, p string) (davEntry, int) {
	want := path.Clean("/" + p)
	for i, e := range es {
		if e.path == want {
			return e, i
		}
	}
	return davEntry{}, -1
}

// List lists the collection p (PROPFIND, Depth: 1).
func (c *davConn) List(p string) ([]Entry, error) {
	es, err := c.propfind(p, "1", true)
	if err != nil {
		return nil, err
	}
	me, at := self(es, p)
	if at < 0 && len(es) > 0 && es[0].Dir {
		// A server behind a proxy that names paths its own way: the
		// collection comes first (RFC 4918 does not promise it, but every
		// server does).
		me, at = es[0], 0
	}
	if at >= 0 && !me.Dir {
		return nil, withKind(ErrRemote, fmt.Errorf("dav: %s is not a folder", p))
	}
	out := make([]Entry, 0, len(es))
	for i, e := range es {
		if i == at || !safeName(e.Name) {
			continue
		}
		out = append(out, e.Entry)
	}
	return out, nil
}

// Stat describes p (PROPFIND, Depth: 0).
func (c *davConn) Stat(p string) (Entry, error) {
	es, err := c.propfind(p, "0", false)
	if err != nil {
		return Entry{}, err
	}
	e, at := self(es, p)
	if at < 0 {
		if len(es) != 1 {
			return Entry{}, withKind(ErrRemote, fmt.Errorf("dav: PROPFIND %s: no entry for it in the answer", p))
		}
		e = es[0]
	}
	if path.Clean("/"+p) == "/" {
		e.Name = "/"
	}
	return e.Entry, nil
}

// Open reads p from offset on (GET, with Range past 0).
func (c *davConn) Open(p string, offset int64) (io.ReadCloser, error) {
	if offset == 0 {
		resp, err := c.do(http.MethodGet, p, false, nil)
		if err != nil {
			return nil, err
		}
		return resp.Body, nil
	}
	return c.ranged(p, offset, -1)
}

// openSection reads bytes off to off+n-1 (a segment).
func (c *davConn) openSection(p string, off, n int64) (io.ReadCloser, error) {
	return c.ranged(p, off, n)
}

// noRanges reports that segments are not worth it: the server was seen to
// ignore Range.
func (c *davConn) noRanges() bool { return c.ranges.Load() < 0 }

// ranged asks for n bytes (-1: to the end) from off and requires a 206
// whose Content-Range starts there. A server that ignores Range sends the
// whole file with 200: a segment then skips to its start and reads its
// part of that (correct, only slower), the next files go in one stream
// (segmentsFor asks noRanges), and a resume, which cannot be done, is
// refused with the reason.
func (c *davConn) ranged(p string, off, n int64) (io.ReadCloser, error) {
	rng := "bytes=" + strconv.FormatInt(off, 10) + "-"
	if n >= 0 {
		rng += strconv.FormatInt(off+n-1, 10)
	}
	resp, err := c.do(http.MethodGet, p, false, nil, "Range", rng)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		if !strings.HasPrefix(cr, "bytes "+strconv.FormatInt(off, 10)+"-") {
			resp.Body.Close()
			return nil, withKind(ErrRemote, fmt.Errorf("dav: GET %s: asked for %s, the server sent %q", p, rng, cr))
		}
		c.ranges.Store(1)
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK && n >= 0:
		c.ranges.Store(-1)
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			resp.Body.Close()
			return nil, withKind(ErrConnect, fmt.Errorf("dav: GET %s: %w", p, err))
		}
		return &limitedReadCloser{r: io.LimitReader(resp.Body, n), c: resp.Body}, nil
	}
	resp.Body.Close()
	c.ranges.Store(-1)
	return nil, withKind(ErrRemote, fmt.Errorf("dav: the server ignores Range requests (status %d for %s), so %s cannot be continued: remove the partial file and start again", resp.StatusCode, rng, p))
}

// Create writes p with one PUT: with Content-Length when the size is known
// (io.Copy from a sized reader), else chunked. WebDAV has no way to write
// at an offset that servers agree on (nginx answers 501 to a PUT with
// Content-Range), so an upload is not continued: put sends the whole file
// again and says so.
func (c *davConn) Create(p string, offset int64) (io.WriteCloser, error) {
	if offset > 0 {
		return nil, ErrNoResume
	}
	return &davUpload{c: c, p: p}, nil
}

// davUpload is a PUT that starts with the first byte (chunked) or with
// ReadFrom (a sized body), or at Close for an empty file.
type davUpload struct {
	c       *davConn
	p       string
	pw      *io.PipeWriter
	done    chan error
	started bool
	err     error // of a PUT that ReadFrom already finished
}

// sized is a reader that tells how many bytes it holds (countReader).
type sized interface{ Size() int64 }

func (u *davUpload) put(body io.Reader, size int64) error {
	req, err := http.NewRequestWithContext(u.c.ctx, http.MethodPut, u.c.base+davEscape(u.p, false), body)
	if err != nil {
		return withKind(ErrUsage, fmt.Errorf("dav: PUT %s: %w", u.p, err))
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.SetBasicAuth(u.c.user, u.c.pass)
	resp, err := u.c.hc.Do(req)
	if err != nil {
		if errors.Is(err, ErrTrust) {
			return err
		}
		return withKind(ErrConnect, fmt.Errorf("dav: PUT %s: %w", u.p, err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return davStatusErr(http.MethodPut, u.p, resp.StatusCode)
	}
	return nil
}

// ReadFrom sends a sized reader with Content-Length.
func (u *davUpload) ReadFrom(r io.Reader) (int64, error) {
	s, ok := r.(sized)
	if u.started || !ok || s.Size() < 0 {
		return io.Copy(writerOnly{u}, r)
	}
	u.started = true
	size := s.Size()
	body := &guardedReader{r: io.LimitReader(r, size)}
	u.err = u.put(body, size)
	n := body.stop()
	// A refusal (a status) is Close's to report, however much of the body
	// went out before it: nothing was stored. A connection lost midway is
	// the copy's failure.
	if u.err != nil && n < size && !errors.Is(u.err, ErrRemote) && !errors.Is(u.err, ErrAuth) {
		return n, u.err
	}
	return n, nil
}

type writerOnly struct{ io.Writer }

// guardedReader is a request body that the transport may still read after
// Do returned (net/http allows that); stop ends the reading, waiting for a
// Read in progress, so the caller's file is no longer touched.
type guardedReader struct {
	mu      sync.Mutex
	r       io.Reader
	n       int64
	stopped bool
}

func (g *guardedReader) Read(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return 0, io.ErrClosedPipe
	}
	n, err := g.r.Read(b)
	g.n += int64(n)
	return n, err
}

// stop ends the reading and returns how many bytes were read.
func (g *guardedReader) stop() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	return g.n
}

func (u *davUpload) Write(b []byte) (int, error) {
	if !u.started {
		u.started = true
		pr, pw := io.Pipe()
		u.pw, u.done = pw, make(chan error, 1)
		go func() {
			err := u.put(pr, -1)
			pr.CloseWithError(err)
			u.done <- err
		}()
	}
	if u.pw == nil {
		return 0, errors.New("dav: upload already sent")
	}
	return u.pw.Write(b)
}

// Close ends the PUT and reports whether the server stored the file.
func (u *davUpload) Close() error {
	switch {
	case u.pw != nil:
		u.pw.Close()
		return <-u.done
	case u.started:
		return u.err
	}
	u.started = true
	return u.put(http.NoBody, 0)
}

// Mkdir creates a collection (MKCOL; nginx wants the trailing slash).
func (c *davConn) Mkdir(p string) error { return c.simple("MKCOL", p, true) }

// Remove deletes a file.
func (c *davConn) Remove(p string) error { return c.simple(http.MethodDelete, p, false) }

// RemoveDir deletes an empty collection. A DELETE of a collection takes
// everything in it along (RFC 4918 §9.6.1), so a folder that is not empty
// is refused here first: rm -r removes the content itself.
func (c *davConn) RemoveDir(p string) error {
	es, err := c.List(p)
	if err != nil {
		return err
	}
	if len(es) > 0 {
		return withKind(ErrRemote, fmt.Errorf("dav: %s is not empty (use rm -r)", p))
	}
	return c.simple(http.MethodDelete, p, true)
}

func (c *davConn) simple(method, p string, dir bool, hdr ...string) error {
	resp, err := c.do(method, p, dir, nil, hdr...)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.Body.Close()
}

// Rename moves from to to (MOVE), refusing to replace what is there.
func (c *davConn) Rename(from, to string) error { return c.move(from, to, "F") }

// replace moves from over to.
func (c *davConn) replace(from, to string) error { return c.move(from, to, "T") }

// move sends MOVE with an absolute Destination; a collection is named with
// its slash on both sides, as nginx requires.
func (c *davConn) move(from, to, overwrite string) error {
	e, err := c.Stat(from)
	if err != nil {
		return err
	}
	return c.simple("MOVE", from, e.Dir, "Destination", c.base+davEscape(to, e.Dir), "Overwrite", overwrite)
}
