package web

import (
	"encoding/xml"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/net/webdav"
)

// Bounds of one user's dead properties (PROPPATCH): a client setting
// properties without end gets 507 Insufficient Storage (RFC 4918 §9.2.1)
// once either is reached, and nothing of its PROPPATCH is stored.
const (
	// davPropsPerResource bounds the properties of one file or folder.
	davPropsPerResource = 256
	// davPropsBytes bounds all of a user's properties, counted as their
	// names, values and the path of their resource (plus davPropOverhead
	// each), so that it also bounds the number of resources holding some.
	davPropsBytes = 4 << 20
	// davPropOverhead is what one stored property costs beside its bytes.
	davPropOverhead = 64
)

// davProps holds one user's WebDAV dead properties, by virtual path. They
// live in the server's memory, beside the user's locks, because the vfs
// stores bytes and a few attributes only (no extended attributes on every
// backend): they end with the server. They follow the file through
// WebDAV's MOVE (davFS.Rename) and COPY (the library copies them into the
// new file), and end with WebDAV's DELETE (davFS.RemoveAll); a rename or
// delete through another protocol does not carry them.
type davProps struct {
	mu    sync.Mutex
	m     map[string]map[xml.Name]webdav.Property
	bytes int
}

// propSize is what one property costs against davPropsBytes.
func propSize(p string, pr webdav.Property) int {
	return len(p) + len(pr.XMLName.Space) + len(pr.XMLName.Local) + len(pr.Lang) + len(pr.InnerXML) + davPropOverhead
}

// get returns a copy of p's properties.
func (s *davProps) get(p string) map[xml.Name]webdav.Property {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m[p])
}

// errPropsFull is a PROPPATCH over the bounds above.
var errPropsFull = errors.New("too many or too large WebDAV properties")

// patch applies patches to p's properties, all or none (RFC 4918 §9.2).
func (s *davProps) patch(p string, patches []webdav.Proppatch) ([]webdav.Propstat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.m[p]
	next := maps.Clone(cur)
	if next == nil {
		next = map[xml.Name]webdav.Property{}
	}
	var names []webdav.Property
	for _, pp := range patches {
		for _, pr := range pp.Props {
			names = append(names, webdav.Property{XMLName: pr.XMLName})
			if pp.Remove {
				delete(next, pr.XMLName)
			} else {
				next[pr.XMLName] = pr
			}
		}
	}
	size := s.bytes
	for _, pr := range cur {
		size -= propSize(p, pr)
	}
	for _, pr := range next {
		size += propSize(p, pr)
	}
	if len(next) > davPropsPerResource || size > davPropsBytes {
		return []webdav.Propstat{{Props: names, Status: http.StatusInsufficientStorage,
			ResponseDescription: errPropsFull.Error()}}, nil
	}
	if s.m == nil {
		s.m = map[string]map[xml.Name]webdav.Property{}
	}
	if len(next) == 0 {
		delete(s.m, p)
	} else {
		s.m[p] = next
	}
	s.bytes = size
	return []webdav.Propstat{{Props: names, Status: http.StatusOK}}, nil
}

// under reports whether q is p or inside the folder p.
func under(q, p string) bool {
	return q == p || p == "/" || strings.HasPrefix(q, p+"/")
}

// drop forgets the properties of p and of everything under it, or of
// those for which gone reports true (nil: all of them).
func (s *davProps) drop(p string, gone func(string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for q, props := range s.m {
		if under(q, p) && (gone == nil || gone(q)) {
			for _, pr := range props {
				s.bytes -= propSize(q, pr)
			}
			delete(s.m, q)
		}
	}
}

// move gives the properties of oldp and everything under it to the same
// names under newp (a MOVE), replacing what newp had.
func (s *davProps) move(oldp, newp string) {
	if oldp == newp {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	moved := map[string]map[xml.Name]webdav.Property{}
	for q, props := range s.m {
		if under(q, oldp) {
			moved[newp+strings.TrimPrefix(q, oldp)] = props
			for _, pr := range props {
				s.bytes -= propSize(q, pr)
			}
			delete(s.m, q)
		}
	}
	for q, props := range s.m {
		if under(q, newp) {
			for _, pr := range props {
				s.bytes -= propSize(q, pr)
			}
			delete(s.m, q)
		}
	}
	for q, props := range moved {
		s.m[q] = props
		for _, pr := range props {
			s.bytes += propSize(q, pr)
		}
	}
}

// The files of davFS hold their dead properties (webdav.DeadPropsHolder):
// PROPFIND reads them, PROPPATCH sets them, COPY copies them.
var (
	_ webdav.DeadPropsHolder = (*davFile)(nil)
	_ webdav.DeadPropsHolder = (*davDir)(nil)
	_ webdav.DeadPropsHolder = (*davUpload)(nil)
)

func (f *davFile) DeadProps() (map[xml.Name]webdav.Property, error) { return f.d.props.get(f.p), nil }
func (f *davFile) Patch(pp []webdav.Proppatch) ([]webdav.Propstat, error) {
	return f.d.props.patch(f.p, pp)
}

func (dd *davDir) DeadProps() (map[xml.Name]webdav.Property, error) { return dd.d.props.get(dd.p), nil }
func (dd *davDir) Patch(pp []webdav.Proppatch) ([]webdav.Propstat, error) {
	return dd.d.props.patch(dd.p, pp)
}

// DeadProps of an upload are those of the name it replaces (a PUT keeps a
// file's properties); Patch (COPY's) waits for the upload's publication.
func (u *davUpload) DeadProps() (map[xml.Name]webdav.Property, error) { return u.d.props.get(u.p), nil }
func (u *davUpload) Patch(pp []webdav.Proppatch) ([]webdav.Propstat, error) {
	u.patches = append(u.patches, pp...)
	names := []webdav.Property{}
	for _, p := range pp {
		for _, pr := range p.Props {
			names = append(names, webdav.Property{XMLName: pr.XMLName})
		}
	}
	return []webdav.Propstat{{Props: names, Status: http.StatusOK}}, nil
}
