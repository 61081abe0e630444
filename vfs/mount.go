package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// Mounted is one FS shown at a path of another (a virtual folder).
type Mounted struct {
	Path string // absolute virtual path, not "/"
	FS   FS
}

// mountFS is a home with virtual folders: every path goes to the FS of
// the longest mount point that contains it, as that FS's own path. A
// mount point's parents show it as a directory, also when the home has
// no such folder. Renames and links between two file systems are
// ErrCrossMount.
type mountFS struct {
	FS     // the home
	mounts []Mounted
}

// NewMounts returns home with mounts shown in it. Closing it closes them
// all. A mount path that is "/", not clean, or repeated is fs.ErrInvalid.
func NewMounts(home FS, mounts []Mounted) (FS, error) {
	if len(mounts) == 0 {
		return home, nil
	}
	m := &mountFS{FS: home, mounts: slices.Clone(mounts)}
	seen := map[string]bool{}
	for _, mt := range m.mounts {
		if mt.Path == "/" || Clean("/", mt.Path) != mt.Path || seen[mt.Path] {
			return nil, fmt.Errorf("mount at %q: %w", mt.Path, fs.ErrInvalid)
		}
		if _, err := rel("mount", mt.Path); err != nil {
			return nil, err
		}
		seen[mt.Path] = true
	}
	// Longest first, so the first containing mount is the most specific.
	sort.Slice(m.mounts, func(i, j int) bool { return len(m.mounts[i].Path) > len(m.mounts[j].Path) })
	return m, nil
}

// IsMounted reports whether the virtual path p lies in a virtual folder
// of fsys rather than in the home (quotas count only the home). A wrapper
// of an FS tells it with a method Mounted(p string) bool.
func IsMounted(fsys FS, p string) bool {
	m, ok := fsys.(interface{ Mounted(p string) bool })
	return ok && m.Mounted(p)
}

// Mounted reports whether p lies in a virtual folder.
func (m *mountFS) Mounted(p string) bool {
	_, i, _ := m.route(p)
	return i >= 0
}

// route returns the FS holding p, the index of its mount (-1: the home)
// and p as that FS sees it.
func (m *mountFS) route(p string) (FS, int, string) {
	c := Join("/", p)
	if strings.HasPrefix(c, "/..") {
		return m.FS, -1, p // the home refuses it as an escape
	}
	for i, mt := range m.mounts {
		if c == mt.Path {
			return mt.FS, i, "/"
		}
		if strings.HasPrefix(c, mt.Path+"/") {
			return mt.FS, i, c[len(mt.Path):]
		}
	}
	return m.FS, -1, p
}

// virt rewrites the path an error of mount i names into the user's view.
func (m *mountFS) virt(i int, err error) error {
	var pe *fs.PathError
	if i < 0 || !errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: pe.Op, Path: path.Join(m.mounts[i].Path, pe.Path), Err: pe.Err}
}

// children are the names of mount points (or their parents) directly in
// the virtual directory dir.
func (m *mountFS) children(dir string) []string {
	var names []string
	for _, mt := range m.mounts {
		r, ok := strings.CutPrefix(mt.Path, strings.TrimSuffix(dir, "/")+"/")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(r, "/")
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// dirInfo describes a mount point or one of its parents as a directory.
type dirInfo struct {
	name string
	fi   fs.FileInfo // the mounted root's, nil for a parent the home lacks
}

func (d dirInfo) Name() string { return d.name }
func (d dirInfo) Size() int64  { return 0 }
func (d dirInfo) Mode() fs.FileMode {
	if d.fi != nil {
		return d.fi.Mode()
	}
	return fs.ModeDir | 0o555
}
func (d dirInfo) ModTime() time.Time {
	if d.fi != nil {
		return d.fi.ModTime()
	}
	return time.Time{}
}
func (d dirInfo) IsDir() bool { return true }
func (d dirInfo) Sys() any    { return nil }

func (m *mountFS) stat(p string, lstat bool) (fs.FileInfo, error) {
	f, i, ip := m.route(p)
	st := f.Stat
	if lstat {
		st = f.Lstat
	}
	fi, err := st(ip)
	if err != nil {
		if i < 0 && errors.Is(err, fs.ErrNotExist) && len(m.children(Join("/", p))) > 0 {
			return dirInfo{name: path.Base(Join("/", p))}, nil
		}
		return nil, m.virt(i, err)
	}
	if ip == "/" && i >= 0 {
		return dirInfo{name: path.Base(m.mounts[i].Path), fi: fi}, nil
	}
	return fi, nil
}

func (m *mountFS) Stat(p string) (fs.FileInfo, error)  { return m.stat(p, false) }
func (m *mountFS) Lstat(p string) (fs.FileInfo, error) { return m.stat(p, true) }

func (m *mountFS) ReadDir(p string) (Lister, error) {
	f, i, ip := m.route(p)
	var extra []fs.FileInfo
	if i < 0 {
		for _, name := range m.children(Join("/", p)) {
			vp := path.Join(Join("/", p), name)
			fi, err := m.Stat(vp)
			if err != nil {
				fi = dirInfo{name: name}
			}
			extra = append(extra, fi)
		}
	}
	l, err := f.ReadDir(ip)
	if err != nil {
		if len(extra) > 0 && errors.Is(err, fs.ErrNotExist) {
			return &mountLister{extra: extra}, nil
		}
		return nil, m.virt(i, err)
	}
	return &mountLister{inner: l, extra: extra}, nil
}

// mountLister is a home directory's listing with its mount points: a home
// entry of a mount point's name is hidden behind the mount.
type mountLister struct {
	inner Lister // nil: only extra
	extra []fs.FileInfo
}

func (l *mountLister) Next(n int) ([]fs.FileInfo, error) {
	for l.inner != nil {
		fis, err := l.inner.Next(n)
		fis = slices.DeleteFunc(fis, func(fi fs.FileInfo) bool {
			return slices.ContainsFunc(l.extra, func(e fs.FileInfo) bool { return e.Name() == fi.Name() })
		})
		if errors.Is(err, io.EOF) {
			l.inner.Close()
			l.inner = nil
		} else if err != nil {
			return fis, err
		}
		if len(fis) > 0 {
			return fis, nil
		}
	}
	if len(l.extra) == 0 {
		return nil, io.EOF
	}
	fis := l.extra
	l.extra = nil
	return fis, nil
}

func (l *mountLister) Close() error {
	if l.inner != nil {
		return l.inner.Close()
	}
	return nil
}

func (m *mountFS) Open(p string) (File, error) {
	f, i, ip := m.route(p)
	r, err := f.Open(ip)
	return r, m.virt(i, err)
}

func (m *mountFS) Create(p string) (Upload, error) {
	f, i, ip := m.route(p)
	u, err := f.Create(ip)
	return u, m.virt(i, err)
}

func (m *mountFS) OpenAt(p string, offset int64) (Upload, error) {
	f, i, ip := m.route(p)
	u, err := f.OpenAt(ip, offset)
	return u, m.virt(i, err)
}

func (m *mountFS) OpenRandom(p string) (Upload, error) {
	f, i, ip := m.route(p)
	u, err := f.OpenRandom(ip)
	return u, m.virt(i, err)
}

// point refuses a change to a mount point or to a parent of one.
func (m *mountFS) point(op, p string) error {
	_, i, ip := m.route(p)
	if ip == "/" && i >= 0 || i < 0 && len(m.children(Join("/", p))) > 0 {
		return pathErr(op, p, fs.ErrPermission)
	}
	return nil
}

func (m *mountFS) Mkdir(p string) error {
	if err := m.point("mkdir", p); err != nil {
		return pathErr("mkdir", p, fs.ErrExist)
	}
	f, i, ip := m.route(p)
	return m.virt(i, f.Mkdir(ip))
}

func (m *mountFS) Remove(p string) error {
	f, i, ip := m.route(p)
	return m.virt(i, f.Remove(ip))
}

func (m *mountFS) Rmdir(p string) error {
	if err := m.point("rmdir", p); err != nil {
		return err
	}
	f, i, ip := m.route(p)
	return m.virt(i, f.Rmdir(ip))
}

// pair routes the two paths of a rename or a link: they must be in the
// same FS.
func (m *mountFS) pair(op, oldp, newp string) (FS, int, string, string, error) {
	for _, p := range []string{oldp, newp} {
		if err := m.point(op, p); err != nil {
			return nil, 0, "", "", pathErr(op, p, ErrCrossMount)
		}
	}
	f, i, io := m.route(oldp)
	_, j, in := m.route(newp)
	if i != j {
		return nil, 0, "", "", pathErr(op, newp, ErrCrossMount)
	}
	return f, i, io, in, nil
}

func (m *mountFS) Rename(oldp, newp string) error {
	f, i, o, n, err := m.pair("rename", oldp, newp)
	if err != nil {
		return err
	}
	return m.virt(i, f.Rename(o, n))
}

func (m *mountFS) Link(oldp, newp string) error {
	f, i, o, n, err := m.pair("link", oldp, newp)
	if err != nil {
		return err
	}
	return m.virt(i, f.Link(o, n))
}

func (m *mountFS) Symlink(target, p string) error {
	f, i, ip := m.route(p)
	return m.virt(i, f.Symlink(target, ip))
}

func (m *mountFS) Readlink(p string) (string, error) {
	f, i, ip := m.route(p)
	t, err := f.Readlink(ip)
	return t, m.virt(i, err)
}

func (m *mountFS) Chtimes(p string, mtime time.Time) error {
	f, i, ip := m.route(p)
	return m.virt(i, f.Chtimes(ip, mtime))
}

func (m *mountFS) Chmod(p string, mode fs.FileMode) error {
	f, i, ip := m.route(p)
	return m.virt(i, f.Chmod(ip, mode))
}

func (m *mountFS) Truncate(p string, size int64) error {
	f, i, ip := m.route(p)
	return m.virt(i, f.Truncate(ip, size))
}

// StatFS tells the home's storage: quotas and capacity are the home's.
func (m *mountFS) StatFS() (Usage, error) { return StatFS(m.FS) }

func (m *mountFS) Close() error {
	err := m.FS.Close()
	for _, mt := range m.mounts {
		err = errors.Join(err, mt.FS.Close())
	}
	return err
}
