package sftp

import (
	"io/fs"
	"time"
)

func (s *session) setstat(p string, a attrs) error {
	if a.flags&attrSize != 0 {
		if err := s.fs.Truncate(p, int64(a.size)); err != nil {
			return err
		}
	}
	if a.flags&attrPermissions != 0 {
		if err := s.fs.Chmod(p, fs.FileMode(a.perm&0o777)); err != nil {
			return err
		}
	}
	if a.flags&attrACModTime != 0 {
		if err := s.fs.Chtimes(p, time.Unix(int64(a.mtime), 0)); err != nil {
			return err
		}
	}
	return nil
}

// opendir opens a directory's lister: READDIR then reads it in batches,
// so a session holds one batch of a large directory, not all of it.
func (s *session) opendir(id uint32, d *decoder) error {
	p := s.path(d)
	if d.err != nil {
		return s.status(id, d.err)
	}
	ls, err := s.fs.ReadDir(p)
	if err != nil {
		return s.status(id, err)
	}
	k, err := s.addHandle(&handle{path: p, dir: ls})
	if err != nil {
		ls.Close()
		return s.status(id, err)
	}
	return s.handleReply(id, k)
}

// readdirBatch bounds one NAME reply; long names are short, so a batch
// stays far below the packet limit.
const readdirBatch = 128

func (s *session) readdir(id uint32, d *decoder) error {
	h := s.h[d.str()]
	if d.err != nil {
		return s.status(id, d.err)
	}
	if h == nil || !h.isDir() {
		return s.status(id, errBadHandle)
	}
	batch, err := h.dir.Next(readdirBatch)
	if err != nil {
		return s.status(id, err) // io.EOF: the end of the directory
	}
	now := time.Now()
	r := begin(fxpName, id)
	r.b = appendU32(r.b, uint32(len(batch)))
	for _, fi := range batch {
		r.b = appendStr(r.b, fi.Name())
		r.b = appendStr(r.b, longName(fi, s.user, now))
		r.b = appendAttrs(r.b, fi)
	}
	return s.send(r)
}
