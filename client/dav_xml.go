package client

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// The WebDAV side of davConn that is not about moving bytes: the PROPFIND
// body and its answer (RFC 4918 §9.1, §14.16), the one table from a
// status to the client's kinds, and path escaping.

// propfindBody asks for the three properties a listing needs.
const propfindBody = `<?xml version="1.0" encoding="utf-8"?>` +
	`<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/></D:prop></D:propfind>`

// maxMultistatus bounds the PROPFIND answer the client reads: 64 MiB is
// several hundred thousand entries, and a server (or something between)
// that sends more cannot make the client hold an unbounded document.
const maxMultistatus = 64 << 20

type davMultistatus struct {
	Responses []davResponse `xml:"DAV: response"`
}

type davResponse struct {
	Hrefs    []string      `xml:"DAV: href"`
	Status   string        `xml:"DAV: status"`
	Propstat []davPropstat `xml:"DAV: propstat"`
}

type davPropstat struct {
	Status string `xml:"DAV: status"`
	Prop   struct {
		ResourceType struct {
			Collection *struct{} `xml:"DAV: collection"`
		} `xml:"DAV: resourcetype"`
		Length   string `xml:"DAV: getcontentlength"`
		Modified string `xml:"DAV: getlastmodified"`
	} `xml:"DAV: prop"`
}

// errTooLarge is returned when a multistatus exceeds maxMultistatus.
var errTooLarge = errors.New("answer larger than 64 MiB")

// capReader fails once more than n bytes were read, instead of ending
// quietly as io.LimitReader does (which would make a cut document).
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(b []byte) (int, error) {
	if c.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(b)) > c.n {
		b = b[:c.n]
	}
	n, err := c.r.Read(b)
	c.n -= int64(n)
	return n, err
}

// davEntry is one resource of a multistatus, with its decoded path.
type davEntry struct {
	path string // percent-decoded, without a trailing slash ("/" for the root)
	Entry
}

// parseMultistatus reads a PROPFIND answer. Properties come only from a
// propstat with status 200; a response without one (a 404 for a resource
// gone meanwhile) is left out.
func parseMultistatus(r io.Reader) ([]davEntry, error) { return parseMultistatusMax(r, maxMultistatus) }

// parseMultistatusMax reads at most limit bytes of the answer.
func parseMultistatusMax(r io.Reader, limit int64) ([]davEntry, error) {
	var ms davMultistatus
	if err := xml.NewDecoder(&capReader{r: r, n: limit}).Decode(&ms); err != nil {
		return nil, err
	}
	var out []davEntry
	for _, resp := range ms.Responses {
		if len(resp.Hrefs) == 0 {
			continue
		}
		p, err := hrefPath(resp.Hrefs[0])
		if err != nil {
			return nil, err
		}
		e := davEntry{path: p}
		e.Name = path.Base(p)
		found := false
		for _, ps := range resp.Propstat {
			if statusCode(ps.Status) != http.StatusOK {
				continue
			}
			found = true
			pr := ps.Prop
			if pr.ResourceType.Collection != nil {
				e.Dir = true
			}
			if pr.Length != "" {
				n, err := strconv.ParseInt(strings.TrimSpace(pr.Length), 10, 64)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("%s: bad getcontentlength %q", p, pr.Length)
				}
				e.Size = n
			}
			if pr.Modified != "" {
				// RFC 1123 as RFC 4918 §15.7 says; http.ParseTime also
				// takes the two older forms some servers still send.
				if t, err := http.ParseTime(strings.TrimSpace(pr.Modified)); err == nil {
					e.ModTime = t
				}
			}
		}
		if found {
			if e.Dir {
				e.Size = 0
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// statusCode reads "HTTP/1.1 200 OK".
func statusCode(s string) int {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

// hrefPath decodes an href, a full URL or an absolute path, to the path it
// names, without a trailing slash.
func hrefPath(href string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return "", fmt.Errorf("bad href %q: %w", href, redactURLError(err))
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	return p, nil
}

// davEscape escapes a path for a request URL segment by segment, so that
// "#", "?", "%", spaces and any UTF-8 in a name reach the server as the
// name; dir adds the trailing slash that names a collection.
func davEscape(p string, dir bool) string {
	segs := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	var b strings.Builder
	for _, s := range segs {
		if s == "" {
			continue
		}
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	if b.Len() == 0 || dir {
		b.WriteByte('/')
	}
	return b.String()
}

// Detail sentinels of a WebDAV refusal, beside the kind; fs's own for
// what they mean.
var (
	errNoSpace  = errors.New("no space left on the server")
	errConflict = errors.New("a folder on the way is missing")
	errLocked   = errors.New("locked")
)

// davStatuses is the one table from a WebDAV status to the client's kind
// and, where one says more, a sentinel that errors.Is finds.
var davStatuses = map[int]struct{ kind, detail error }{
	http.StatusUnauthorized:          {ErrAuth, nil},
	http.StatusForbidden:             {ErrRemote, fs.ErrPermission},
	http.StatusNotFound:              {ErrRemote, fs.ErrNotExist},
	http.StatusMethodNotAllowed:      {ErrRemote, fs.ErrExist}, // MKCOL of what exists
	http.StatusConflict:              {ErrRemote, errConflict},
	http.StatusPreconditionFailed:    {ErrRemote, fs.ErrExist}, // MOVE with Overwrite: F
	http.StatusRequestEntityTooLarge: {ErrRemote, errNoSpace},
	http.StatusLocked:                {ErrRemote, errLocked},
	http.StatusInsufficientStorage:   {ErrRemote, errNoSpace},
	http.StatusProxyAuthRequired:     {ErrAuth, nil},
}

// davStatusErr turns a failure status into the client's error.
func davStatusErr(method, p string, code int) error {
	m, ok := davStatuses[code]
	if !ok {
		m.kind = ErrRemote
	}
	err := fmt.Errorf("dav: %s %s: %d %s", method, p, code, http.StatusText(code))
	if m.detail != nil {
		err = fmt.Errorf("%w (%w)", err, m.detail)
	}
	return withKind(m.kind, err)
}
