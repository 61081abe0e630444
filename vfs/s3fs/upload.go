package s3fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/ferry-project/ferry/vfs"
	"github.com/minio/minio-go/v7"
)

// upload streams a file into a multipart upload (see the package
// comment): buf fills while the part before it is sent.
type upload struct {
	f       *FS
	p, k    string
	inPlace bool // OpenAt, OpenRandom: Abort publishes what arrived, as on a disk
	ctx     context.Context
	cancel  context.CancelFunc

	id    string // the multipart upload, "" until a part is needed
	parts []minio.CompletePart
	buf   []byte // the part being filled: grows up to the part size
	spare []byte // the buffer of the last part sent, for the next one
	off   int64  // end of the bytes accepted in order

	ahead      map[int64][]byte // writes past off, waiting for the gap to fill
	aheadBytes int

	sending chan partResult // the part in flight, nil when none
	err     error           // the first write error
	done    bool
}

type partResult struct {
	part minio.ObjectPart
	buf  []byte
	err  error
}

// firstBuffer is the part buffer's first size: it doubles up to the part
// size as bytes come, so a small file does not cost a whole part.
const firstBuffer = 64 << 10

func (f *FS) newUpload(p, k string, inPlace bool) *upload {
	c, cancel := context.WithCancel(context.Background())
	return &upload{f: f, p: p, k: k, inPlace: inPlace, ctx: c, cancel: cancel, buf: make([]byte, 0, min(firstBuffer, f.s.partSize))}
}

// room makes space in the part buffer: it grows while smaller than a
// part; a full part is sent.
func (u *upload) room() error {
	if len(u.buf) < cap(u.buf) {
		return nil
	}
	if int64(cap(u.buf)) < u.f.s.partSize {
		b := make([]byte, len(u.buf), min(2*int64(cap(u.buf)), u.f.s.partSize))
		copy(b, u.buf)
		u.buf = b
		return nil
	}
	return u.send()
}

// Create starts an atomic upload: nothing shows under p until Commit.
func (f *FS) Create(p string) (vfs.Upload, error) {
	k, err := f.writable("create", p)
	if err != nil {
		return nil, err
	}
	if k == "" {
		return nil, pathErr("create", p, vfs.ErrIsDir)
	}
	if err := f.parent("create", p, k); err != nil {
		return nil, err
	}
	if i, err := f.stat("create", p, k); err == nil && i.dir {
		return nil, pathErr("create", p, vfs.ErrIsDir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return f.newUpload(p, k, false), nil
}

// OpenAt resumes p at offset: the bytes before it are kept (copied on the
// server, or read back when they fit in the first part) and the new ones
// follow, published together.
func (f *FS) OpenAt(p string, offset int64) (vfs.Upload, error) { return f.resume("open", p, offset) }

// OpenRandom opens p to write after its end (an SFTP resume); writes
// inside what is there are refused (see WriteAt).
func (f *FS) OpenRandom(p string) (vfs.Upload, error) { return f.resume("open", p, -1) }

func (f *FS) resume(op, p string, offset int64) (vfs.Upload, error) {
	k, err := f.writable(op, p)
	if err != nil {
		return nil, err
	}
	if k == "" {
		return nil, pathErr(op, p, vfs.ErrIsDir)
	}
	c, cancel := ctx()
	defer cancel()
	oi, err := f.s.c.StatObject(c, f.s.bucket, k, minio.StatObjectOptions{})
	if err != nil && !notFound(err) {
		return nil, fail(op, p, err)
	}
	if err != nil { // no such file: a folder, or created here
		if i, err := f.stat(op, p, k); err == nil && i.dir {
			return nil, pathErr(op, p, vfs.ErrIsDir)
		}
		if offset > 0 {
			return nil, pathErr(op, p, vfs.ErrBadOffset)
		}
		if err := f.parent(op, p, k); err != nil {
			return nil, err
		}
		return f.newUpload(p, k, true), nil
	}
	if offset < 0 {
		offset = oi.Size
	}
	if offset > oi.Size {
		return nil, pathErr(op, p, vfs.ErrBadOffset)
	}
	u := f.newUpload(p, k, true)
	if err := u.keep(offset, oi.ETag); err != nil {
		u.discard()
		return nil, err
	}
	return u, nil
}

// keep starts the upload with the object's first n bytes.
func (u *upload) keep(n int64, etag string) error {
	if n == 0 {
		return nil
	}
	if n <= u.f.s.partSize {
		o := minio.GetObjectOptions{}
		o.SetMatchETag(etag)
		o.SetRange(0, n-1)
		body, _, _, err := u.f.s.c.GetObject(u.ctx, u.f.s.bucket, u.k, o)
		if err != nil {
			return fail("open", u.p, err)
		}
		defer body.Close()
		b := make([]byte, n, max(n, int64(cap(u.buf))))
		if _, err := io.ReadFull(body, b); err != nil {
			return fail("open", u.p, err)
		}
		u.buf, u.off = b, n
		return nil
	}
	if err := u.start(); err != nil {
		return err
	}
	// Every part but the last must be 5 MiB or more: n > PartSize is, and
	// so is each of k equal pieces of at most 5 GiB.
	pieces := (n + maxCopy - 1) / maxCopy
	size := (n + pieces - 1) / pieces
	for at := int64(0); at < n; at += size {
		l := min(size, n-at)
		part, err := u.f.s.c.CopyObjectPart(u.ctx, u.f.s.bucket, u.k, u.f.s.bucket, u.k, u.id, len(u.parts)+1, at, l,
			map[string]string{"x-amz-copy-source-if-match": etag})
		if err != nil {
			return fail("open", u.p, err)
		}
		u.parts = append(u.parts, part)
	}
	u.off = n
	return nil
}

// start begins the multipart upload.
func (u *upload) start() error {
	if u.id != "" {
		return nil
	}
	id, err := u.f.s.c.NewMultipartUpload(u.ctx, u.f.s.bucket, u.k, minio.PutObjectOptions{})
	if err != nil {
		return fail("write", u.p, err)
	}
	u.id = id
	return nil
}

// wait collects the part in flight.
func (u *upload) wait() error {
	if u.sending == nil {
		return nil
	}
	r := <-u.sending
	u.sending = nil
	u.spare = r.buf[:0]
	if r.err != nil {
		return fail("write", u.p, r.err)
	}
	u.parts = append(u.parts, minio.CompletePart{PartNumber: r.part.PartNumber, ETag: r.part.ETag})
	return nil
}

// send starts sending buf as the next part, once the one before is in.
func (u *upload) send() error {
	if err := u.start(); err != nil {
		return err
	}
	if err := u.wait(); err != nil {
		return err
	}
	if len(u.parts) >= maxParts {
		return pathErr("write", u.p, fmt.Errorf("%w: more than %d parts of %d bytes", vfs.ErrNoSpace, maxParts, u.f.s.partSize))
	}
	b, n := u.buf, len(u.parts)+1
	u.buf, u.spare = u.spare, nil
	if u.buf == nil {
		u.buf = make([]byte, 0, u.f.s.partSize)
	}
	ch := make(chan partResult, 1)
	u.sending = ch
	go func() {
		part, err := u.f.s.c.PutObjectPart(u.ctx, u.f.s.bucket, u.k, u.id, n, bytes.NewReader(b), int64(len(b)), minio.PutObjectPartOptions{})
		ch <- partResult{part: part, buf: b, err: err}
	}()
	return nil
}

func (u *upload) usable() error {
	if u.done {
		return pathErr("write", u.p, fs.ErrClosed)
	}
	return u.err
}

func (u *upload) failed(err error) error {
	if u.err == nil {
		u.err = err
	}
	return err
}

// put appends b to the bytes in order.
func (u *upload) put(b []byte) error {
	for len(b) > 0 {
		if err := u.room(); err != nil {
			return err
		}
		n := copy(u.buf[len(u.buf):cap(u.buf)], b)
		u.buf = u.buf[:len(u.buf)+n]
		b = b[n:]
		u.off += int64(n)
	}
	return nil
}

// drain moves the writes ahead that the bytes in order have reached.
func (u *upload) drain() error {
	for moved := true; moved && len(u.ahead) > 0; {
		moved = false
		for at, d := range u.ahead {
			if at > u.off {
				continue
			}
			delete(u.ahead, at)
			u.aheadBytes -= len(d)
			moved = true
			if end := at + int64(len(d)); end > u.off {
				if err := u.put(d[u.off-at:]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (u *upload) Write(b []byte) (int, error) { return u.WriteAt(b, u.off) }

// WriteAt takes a write at the next offset, or up to Window ahead of it;
// any other is refused with vfs.ErrNotSupported (and the upload fails, as
// it would miss bytes).
func (u *upload) WriteAt(b []byte, off int64) (int, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	end := off + int64(len(b))
	switch {
	case off == u.off:
		if err := u.put(b); err != nil {
			return 0, u.failed(err)
		}
		if err := u.drain(); err != nil {
			return 0, u.failed(err)
		}
	case off < u.off || off < 0:
		return 0, u.failed(pathErr("write", u.p, fmt.Errorf("%w: a write at %d, behind the %d bytes already sent", vfs.ErrNotSupported, off, u.off)))
	case end-u.off > Window || u.aheadBytes+len(b) > Window:
		return 0, u.failed(pathErr("write", u.p, fmt.Errorf("%w: a write at %d, more than %d bytes ahead of the %d in order", vfs.ErrNotSupported, off, Window, u.off)))
	default:
		if u.ahead == nil {
			u.ahead = map[int64][]byte{}
		}
		u.aheadBytes += len(b) - len(u.ahead[off])
		u.ahead[off] = bytes.Clone(b)
	}
	return len(b), nil
}

// ReadFrom reads the source straight into the part being filled.
func (u *upload) ReadFrom(r io.Reader) (int64, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	if len(u.ahead) > 0 {
		return io.Copy(struct{ io.Writer }{u}, r)
	}
	var total int64
	for {
		if err := u.room(); err != nil {
			return total, u.failed(err)
		}
		n, err := r.Read(u.buf[len(u.buf):cap(u.buf)])
		u.buf = u.buf[:len(u.buf)+n]
		u.off += int64(n)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (u *upload) size() int64 {
	s := u.off
	for at, d := range u.ahead {
		s = max(s, at+int64(len(d)))
	}
	return s
}

func (u *upload) ReadAt([]byte, int64) (int, error) {
	return 0, pathErr("read", u.p, vfs.ErrNotSupported)
}

func (u *upload) Stat() (fs.FileInfo, error) {
	return info{name: baseName(u.p), size: u.size(), mtime: time.Now()}, nil
}

// Truncate to the size written so far does nothing; any other is
// refused, and the upload goes on unchanged.
func (u *upload) Truncate(size int64) error {
	if err := u.usable(); err != nil {
		return err
	}
	if size == u.size() {
		return nil
	}
	return pathErr("truncate", u.p, vfs.ErrNotSupported)
}

func (u *upload) Chmod(fs.FileMode) error { return pathErr("chmod", u.p, vfs.ErrNotSupported) }

// Sync has nothing to do: what is sent is in the store, the part being
// filled goes with the next part or the Commit.
func (u *upload) Sync() error { return u.usable() }

// Commit publishes the upload: one PUT when it fits in a part, else the
// last part and CompleteMultipartUpload, which the store makes atomic.
func (u *upload) Commit() error {
	if u.done {
		return pathErr("commit", u.p, fs.ErrClosed)
	}
	err := u.err
	if err == nil {
		err = u.publish()
	}
	u.done = true
	if err != nil {
		u.discard()
		return err
	}
	u.release()
	return nil
}

func (u *upload) publish() error {
	for len(u.ahead) > 0 { // a gap never written reads as zeros, as on a disk
		next := int64(-1)
		for at := range u.ahead {
			if next < 0 || at < next {
				next = at
			}
		}
		if next > u.off {
			if err := u.put(make([]byte, next-u.off)); err != nil {
				return err
			}
		}
		if err := u.drain(); err != nil {
			return err
		}
	}
	if u.id == "" {
		_, err := u.f.s.c.PutObject(u.ctx, u.f.s.bucket, u.k, bytes.NewReader(u.buf), int64(len(u.buf)), "", "", minio.PutObjectOptions{})
		return fail("commit", u.p, err)
	}
	if len(u.buf) > 0 {
		if err := u.send(); err != nil {
			return err
		}
	}
	if err := u.wait(); err != nil {
		return err
	}
	_, err := u.f.s.c.CompleteMultipartUpload(u.ctx, u.f.s.bucket, u.k, u.id, u.parts, minio.PutObjectOptions{})
	if err != nil {
		return fail("commit", u.p, err)
	}
	u.id = ""
	return nil
}

// Abort discards an atomic upload. One in place (a resume) keeps what
// arrived, as a disk would, unless a write failed.
func (u *upload) Abort() error {
	if u.done {
		return nil
	}
	if u.inPlace && u.err == nil {
		return u.Commit()
	}
	u.done = true
	return u.discard()
}

// abortTimeout bounds the clean-up of a multipart upload.
const abortTimeout = 30 * time.Second

// discard stops the part in flight and aborts the multipart upload, so no
// part stays in the store.
func (u *upload) discard() error {
	u.cancel()
	u.wait()
	var err error
	if u.id != "" {
		c, cancel := context.WithTimeout(context.Background(), abortTimeout)
		defer cancel()
		err = fail("abort", u.p, u.f.s.c.AbortMultipartUpload(c, u.f.s.bucket, u.k, u.id))
		u.id = ""
	}
	u.release()
	return err
}

func (u *upload) release() {
	u.cancel()
	u.buf, u.spare = nil, nil
	u.ahead, u.aheadBytes = nil, 0
}
