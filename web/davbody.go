package web

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
)

// davMaxBody bounds the XML body of every WebDAV method but PUT
// (PROPFIND, PROPPATCH, LOCK...): the library reads it whole.
const davMaxBody = 1 << 20

// davBody reads the body of a request other than PUT, at most davMaxBody
// (413 past it), and refuses with 400 an XML body that binds a namespace
// prefix to the empty name (xmlns:p="", which Namespaces in XML 1.0 §3
// forbids and golang.org/x/net/webdav would accept). It reports whether
// the request goes on, with the body read again from memory.
func davBody(rq *request) bool {
	if rq.r.Body == nil || rq.r.Body == http.NoBody {
		return true
	}
	b, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, davMaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		rq.fail(http.StatusRequestEntityTooLarge, "request body larger than 1 MiB")
		return false
	case err != nil:
		rq.fail(http.StatusBadRequest, "request body unreadable")
		return false
	}
	rq.r.Body = io.NopCloser(bytes.NewReader(b))
	if len(b) > 0 && emptyPrefixBinding(b) {
		rq.fail(http.StatusBadRequest, "XML body binds a namespace prefix to the empty name")
		return false
	}
	return true
}

// emptyPrefixBinding reports whether the XML document b declares
// xmlns:PREFIX="". A document that does not parse is left for the
// library, which answers it 400 itself.
func emptyPrefixBinding(b []byte) bool {
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Space == "xmlns" && a.Value == "" {
					return true
				}
			}
		}
	}
}
