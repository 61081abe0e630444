package client

import (
	"errors"
	"io"
	"time"
)

// What a protocol offers beyond Conn. The transfer code asks for each with
// a type assertion and does without when a Conn lacks it (a wrapper, or a
// protocol that cannot).

// sectioner reads n bytes of a file from off: a segment of a segmented
// download.
type sectioner interface {
	openSection(p string, off, n int64) (io.ReadCloser, error)
}

// offsetWriter can have several connections fill one file at once, each
// writing its range in place (SFTP; see rangePutter).
type offsetWriter interface {
	// truncate sets the file's size (creating it when missing).
	truncate(p string, size int64) error
}

// cloner opens another session with the same server, reusing what the
// first one learnt: credentials, the bearer token, the SFTP limits.
type cloner interface {
	clone() (Conn, error)
}

// prober is a clone that connects lazily (HTTP): probe makes its
// connection now, so that a server that takes no more connections from
// this address says so when the pool dials, not in the middle of a file.
type prober interface {
	probe() error
}

// rtter reports the round trip measured while connecting.
type rtter interface {
	rtt() time.Duration
}

// pather resolves a path to the server's absolute form: with links
// resolved for SFTP (REALPATH), lexically for FTP.
type pather interface {
	realpath(p string) (string, error)
}

// linkReader reads where a symbolic link points.
type linkReader interface {
	readlink(p string) (string, error)
}

// timeSetter sets a file's modification time, so that a mirror can tell
// next time that the file is unchanged.
type timeSetter interface {
	setModTime(p string, t time.Time) error
	canSetTimes() bool
}

// renamer replaces an existing file by rename, which Conn.Rename may
// refuse to do.
type renamer interface {
	replace(from, to string) error
}

// linkHider shows a symbolic link as what it points to and never says it
// is one (WebDAV): any folder may be a link back to one it is in, which
// only its listing, the same as that folder's, tells.
type linkHider interface {
	hidesLinks()
}

// aborter stops what a connection is doing from another goroutine (an
// interrupt), where Close would wait for a transfer to end.
type aborter interface {
	abort()
}

// errNoModTime is returned by setModTime when the server cannot set times.
var errNoModTime = errors.New("the server cannot set modification times")

// limitedReadCloser reads at most a limit from r and closes c.
type limitedReadCloser struct {
	r io.Reader
	c io.Closer
}

func (l *limitedReadCloser) Read(b []byte) (int, error) { return l.r.Read(b) }
func (l *limitedReadCloser) Close() error               { return l.c.Close() }
