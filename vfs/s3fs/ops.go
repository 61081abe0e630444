package s3fs

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/ferry-project/ferry/vfs"
	"github.com/minio/minio-go/v7"
)

// stat describes key k: an object is a file; else a marker "k/" or any
// key under "k/" makes a folder.
func (f *FS) stat(op, p, k string) (info, error) {
	name := baseName(p)
	if k == "" {
		return info{name: "/", dir: true}, nil
	}
	c, cancel := ctx()
	defer cancel()
	oi, err := f.s.c.StatObject(c, f.s.bucket, k, minio.StatObjectOptions{})
	if err == nil {
		return info{name: name, size: oi.Size, mtime: oi.LastModified}, nil
	}
	if !notFound(err) {
		return info{}, fail(op, p, err)
	}
	if oi, err = f.s.c.StatObject(c, f.s.bucket, k+"/", minio.StatObjectOptions{}); err == nil {
		return info{name: name, dir: true, mtime: oi.LastModified}, nil
	} else if !notFound(err) {
		return info{}, fail(op, p, err)
	}
	if any, err := f.anyUnder(k + "/"); err != nil {
		return info{}, fail(op, p, err)
	} else if any {
		return info{name: name, dir: true}, nil
	}
	return info{}, pathErr(op, p, fs.ErrNotExist)
}

// anyUnder reports whether a key starts with prefix.
func (f *FS) anyUnder(prefix string) (bool, error) {
	r, err := f.s.c.ListObjectsV2(f.s.bucket, prefix, "", "", "/", 1)
	return len(r.Contents)+len(r.CommonPrefixes) > 0, err
}

// holds reports whether the folder prefix holds anything but its marker.
func (f *FS) holds(prefix string) (bool, error) {
	r, err := f.s.c.ListObjectsV2(f.s.bucket, prefix, "", "", "/", 2)
	if err != nil {
		return false, err
	}
	for _, o := range r.Contents {
		if o.Key != prefix {
			return true, nil
		}
	}
	return len(r.CommonPrefixes) > 0, nil
}

// parent checks that the folder holding key k exists.
func (f *FS) parent(op, p, k string) error {
	dir := path.Dir(k)
	if dir == "." || dir+"/" == f.root || !strings.HasPrefix(dir+"/", f.root) {
		return nil
	}
	pi, err := f.stat(op, p, dir)
	switch {
	case err != nil:
		return err
	case !pi.dir:
		return pathErr(op, p, vfs.ErrNotDir)
	}
	return nil
}

// keepParent writes the marker of k's folder before k goes, so that a
// folder does not vanish with its last file.
func (f *FS) keepParent(k string) error {
	dir := path.Dir(k)
	if dir == "." || dir+"/" == f.root || !strings.HasPrefix(dir+"/", f.root) {
		return nil
	}
	c, cancel := ctx()
	defer cancel()
	if _, err := f.s.c.StatObject(c, f.s.bucket, dir+"/", minio.StatObjectOptions{}); err == nil || !notFound(err) {
		return err
	}
	return f.putMarker(dir + "/")
}

func (f *FS) putMarker(k string) error {
	c, cancel := ctx()
	defer cancel()
	_, err := f.s.c.PutObject(c, f.s.bucket, k, strings.NewReader(""), 0, "", "", minio.PutObjectOptions{})
	return err
}

func (f *FS) removeObject(k string) error {
	c, cancel := ctx()
	defer cancel()
	return f.s.c.RemoveObject(c, f.s.bucket, k, minio.RemoveObjectOptions{})
}

func (f *FS) Stat(p string) (fs.FileInfo, error) {
	k, err := f.key("stat", p)
	if err != nil {
		return nil, err
	}
	i, err := f.stat("stat", p, k)
	if err != nil {
		return nil, err
	}
	return i, nil
}

// Lstat is Stat: object storage has no links.
func (f *FS) Lstat(p string) (fs.FileInfo, error) { return f.Stat(p) }

func (f *FS) Mkdir(p string) error {
	k, err := f.writable("mkdir", p)
	if err != nil {
		return err
	}
	if k == "" {
		return pathErr("mkdir", p, fs.ErrExist)
	}
	if err := f.parent("mkdir", p, k); err != nil {
		return err
	}
	if _, err := f.stat("mkdir", p, k); err == nil {
		return pathErr("mkdir", p, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return fail("mkdir", p, f.putMarker(k+"/"))
}

func (f *FS) Remove(p string) error {
	k, err := f.writable("remove", p)
	if err != nil {
		return err
	}
	i, err := f.stat("remove", p, k)
	switch {
	case err != nil:
		return err
	case i.dir:
		return pathErr("remove", p, vfs.ErrIsDir)
	}
	if err := f.keepParent(k); err != nil {
		return fail("remove", p, err)
	}
	return fail("remove", p, f.removeObject(k))
}

func (f *FS) Rmdir(p string) error {
	k, err := f.writable("rmdir", p)
	if err != nil {
		return err
	}
	if k == "" {
		return pathErr("rmdir", p, fs.ErrPermission)
	}
	i, err := f.stat("rmdir", p, k)
	switch {
	case err != nil:
		return err
	case !i.dir:
		return pathErr("rmdir", p, vfs.ErrNotDir)
	}
	if full, err := f.holds(k + "/"); err != nil {
		return fail("rmdir", p, err)
	} else if full {
		return pathErr("rmdir", p, vfs.ErrNotEmpty)
	}
	if err := f.keepParent(k); err != nil {
		return fail("rmdir", p, err)
	}
	return fail("rmdir", p, f.removeObject(k+"/"))
}

// Rename copies a file on the server then deletes the old name. A folder
// is renamed only when empty (its marker); see the package comment.
func (f *FS) Rename(oldp, newp string) error {
	ko, err := f.writable("rename", oldp)
	if err != nil {
		return err
	}
	kn, err := f.writable("rename", newp)
	if err != nil {
		return err
	}
	if ko == "" || kn == "" {
		return pathErr("rename", oldp, fs.ErrPermission)
	}
	oi, err := f.stat("rename", oldp, ko)
	if err != nil {
		return err
	}
	if ko == kn {
		return nil
	}
	if err := f.parent("rename", newp, kn); err != nil {
		return err
	}
	ni, err := f.stat("rename", newp, kn)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	switch {
	case exists && ni.dir:
		return pathErr("rename", newp, fs.ErrExist)
	case oi.dir && exists:
		return pathErr("rename", newp, vfs.ErrNotDir)
	case oi.dir && strings.HasPrefix(kn, ko+"/"):
		return pathErr("rename", newp, fs.ErrInvalid)
	case oi.dir:
		if full, err := f.holds(ko + "/"); err != nil {
			return fail("rename", oldp, err)
		} else if full {
			return pathErr("rename", oldp, vfs.ErrNotSupported)
		}
		if err := f.putMarker(kn + "/"); err != nil {
			return fail("rename", newp, err)
		}
		if err := f.keepParent(ko); err != nil {
			return fail("rename", oldp, err)
		}
		return fail("rename", oldp, f.removeObject(ko+"/"))
	}
	if err := f.copy(ko, kn, oi.size); err != nil {
		return fail("rename", newp, err)
	}
	if err := f.keepParent(ko); err != nil {
		return fail("rename", oldp, err)
	}
	return fail("rename", oldp, f.removeObject(ko))
}

// copy copies an object on the server: one CopyObject up to 5 GiB, a
// multipart copy beyond.
func (f *FS) copy(from, to string, size int64) error {
	c, cancel := ctx()
	defer cancel()
	src := minio.CopySrcOptions{Bucket: f.s.bucket, Object: from}
	dst := minio.CopyDestOptions{Bucket: f.s.bucket, Object: to}
	var err error
	if size <= maxCopy {
		_, err = f.s.c.Client.CopyObject(c, dst, src)
	} else {
		_, err = f.s.c.ComposeObject(c, dst, src)
	}
	return err
}

// existing refuses op on p after checking that p is there, so a missing
// name is told so and a folder is told apart where it matters.
func (f *FS) existing(op, p string) (info, error) {
	k, err := f.writable(op, p)
	if err != nil {
		return info{}, err
	}
	return f.stat(op, p, k)
}

// Chtimes is refused: the store sets an object's time itself.
func (f *FS) Chtimes(p string, _ time.Time) error {
	if _, err := f.existing("chtimes", p); err != nil {
		return err
	}
	return pathErr("chtimes", p, vfs.ErrNotSupported)
}

// Chmod is refused: objects have no modes.
func (f *FS) Chmod(p string, _ fs.FileMode) error {
	if _, err := f.existing("chmod", p); err != nil {
		return err
	}
	return pathErr("chmod", p, vfs.ErrNotSupported)
}

// Truncate to the file's own size does nothing; any other size is
// refused, since an object is only ever replaced whole.
func (f *FS) Truncate(p string, size int64) error {
	i, err := f.existing("truncate", p)
	switch {
	case err != nil:
		return err
	case i.dir:
		return pathErr("truncate", p, vfs.ErrIsDir)
	case size == i.size:
		return nil
	}
	return pathErr("truncate", p, vfs.ErrNotSupported)
}

// Readlink: nothing is a link.
func (f *FS) Readlink(p string) (string, error) {
	if _, err := f.Stat(p); err != nil {
		return "", err
	}
	return "", pathErr("readlink", p, fs.ErrInvalid)
}

func (f *FS) Symlink(_, p string) error { return f.unsupported("symlink", p) }

func (f *FS) Link(oldp, newp string) error {
	if _, err := f.key("link", oldp); err != nil {
		return err
	}
	return f.unsupported("link", newp)
}

// lister pages through a folder with ListObjectsV2, one request per Next.
type lister struct {
	f      *FS
	prefix string
	token  string
	done   bool
}

// maxPage is S3's largest page.
const maxPage = 1000

func (f *FS) ReadDir(p string) (vfs.Lister, error) {
	k, err := f.key("readdir", p)
	if err != nil {
		return nil, err
	}
	i, err := f.stat("readdir", p, k)
	switch {
	case err != nil:
		return nil, err
	case !i.dir:
		return nil, pathErr("readdir", p, vfs.ErrNotDir)
	}
	prefix := f.root
	if k != "" {
		prefix = k + "/"
	}
	return &lister{f: f, prefix: prefix}, nil
}

func (l *lister) Next(n int) ([]fs.FileInfo, error) {
	if n <= 0 || n > maxPage {
		n = maxPage
	}
	for !l.done {
		r, err := l.f.s.c.ListObjectsV2(l.f.s.bucket, l.prefix, "", l.token, "/", n)
		if err != nil {
			return nil, fail("readdir", "/"+strings.TrimPrefix(l.prefix, l.f.root), err)
		}
		l.token, l.done = r.NextContinuationToken, !r.IsTruncated || r.NextContinuationToken == ""
		var out []fs.FileInfo
		for _, cp := range r.CommonPrefixes {
			if name := strings.TrimSuffix(strings.TrimPrefix(cp.Prefix, l.prefix), "/"); shown(name) {
				out = append(out, info{name: name, dir: true})
			}
		}
		for _, o := range r.Contents {
			if name := strings.TrimPrefix(o.Key, l.prefix); shown(name) {
				out = append(out, info{name: name, size: o.Size, mtime: o.LastModified})
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return nil, io.EOF
}

// shown reports whether a name listed in a folder is a user's entry: not
// the folder's own marker, nothing a path could not name.
func shown(name string) bool {
	if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
		return false
	}
	_, err := vfs.Rel("list", "/"+name)
	return err == nil
}

func (l *lister) Close() error { l.done = true; return nil }
