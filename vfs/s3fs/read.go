package s3fs

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"github.com/ferry-project/ferry/vfs"
	"github.com/minio/minio-go/v7"
)

// file reads an object through ranged GETs pinned to the ETag it had when
// opened. One GET streams while reads follow each other (a download, or
// SFTP reads in order); a read elsewhere closes it and opens another at
// its offset (REST, Range, a seek).
type file struct {
	f    *FS
	p, k string
	fi   info
	etag string
	pos  int64 // Read's offset

	body   io.ReadCloser // the GET in progress, at offset at
	at     int64
	cancel context.CancelFunc
	closed bool
}

func (f *FS) Open(p string) (vfs.File, error) {
	k, err := f.key("open", p)
	if err != nil {
		return nil, err
	}
	if k == "" {
		return nil, pathErr("open", p, vfs.ErrIsDir)
	}
	c, cancel := ctx()
	defer cancel()
	oi, err := f.s.c.StatObject(c, f.s.bucket, k, minio.StatObjectOptions{})
	if err != nil {
		if !notFound(err) {
			return nil, fail("open", p, err)
		}
		if i, err := f.stat("open", p, k); err != nil {
			return nil, err
		} else if i.dir {
			return nil, pathErr("open", p, vfs.ErrIsDir)
		}
		return nil, pathErr("open", p, fs.ErrNotExist)
	}
	return &file{f: f, p: p, k: k, etag: oi.ETag, fi: info{name: baseName(p), size: oi.Size, mtime: oi.LastModified}}, nil
}

func (r *file) Stat() (fs.FileInfo, error) { return r.fi, nil }

func (r *file) Read(b []byte) (int, error) {
	n, err := r.ReadAt(b, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (r *file) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += r.fi.size
	}
	if off < 0 {
		return r.pos, pathErr("seek", r.p, fs.ErrInvalid)
	}
	r.pos = off
	return off, nil
}

// ReadAt fills b from off, continuing the open GET when it is there.
func (r *file) ReadAt(b []byte, off int64) (int, error) {
	if r.closed {
		return 0, pathErr("read", r.p, fs.ErrClosed)
	}
	if off < 0 {
		return 0, pathErr("read", r.p, fs.ErrInvalid)
	}
	if off >= r.fi.size {
		return 0, io.EOF
	}
	want := b
	if rest := r.fi.size - off; int64(len(b)) > rest {
		want = b[:rest]
	}
	if r.body == nil || r.at != off {
		if err := r.get(off); err != nil {
			return 0, err
		}
	}
	n, err := io.ReadFull(r.body, want)
	r.at += int64(n)
	if err != nil {
		r.drop()
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			err = io.ErrUnexpectedEOF // the object is shorter than it was
		}
		return n, fail("read", r.p, err)
	}
	if len(want) < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// get opens a GET from off to the end, refused if the object changed.
func (r *file) get(off int64) error {
	r.drop()
	c, cancel := context.WithCancel(context.Background())
	o := minio.GetObjectOptions{}
	o.SetMatchETag(r.etag)
	if off > 0 {
		o.SetRange(off, 0)
	}
	body, _, _, err := r.f.s.c.GetObject(c, r.f.s.bucket, r.k, o)
	if err != nil {
		cancel()
		return fail("read", r.p, err)
	}
	r.body, r.at, r.cancel = body, off, cancel
	return nil
}

func (r *file) drop() {
	if r.body != nil {
		r.cancel()
		r.body.Close()
		r.body, r.cancel = nil, nil
	}
}

func (r *file) Close() error {
	r.drop()
	r.closed = true
	return nil
}
