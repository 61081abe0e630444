package vfs

import (
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
)

// Memory is a backend that keeps its files in memory, for tests: it
// follows the same contract as the disk (the vfstest suite checks both)
// and can play a full disk (SetCapacity).
type Memory struct {
	s        *memStore
	readOnly bool
}

type memStore struct {
	mu       sync.Mutex
	root     *node
	used     int64 // bytes of file data, uploads in progress included
	capacity int64 // 0: no limit
}

// node is a file, a directory (kids set) or a symbolic link (ModeSymlink).
type node struct {
	name   string
	mode   fs.FileMode
	mtime  time.Time
	data   []byte
	target string
	kids   map[string]*node
	links  int // names beyond the first (hard links)
}

// unlink drops one name of a file: its bytes count as used until the
// last name goes.
func (s *memStore) unlink(n *node) {
	if n.links > 0 {
		n.links--
		return
	}
	s.used -= int64(len(n.data))
}

// NewMemory returns an empty file system.
func NewMemory(readOnly bool) *Memory {
	root := &node{name: ".", mode: fs.ModeDir | 0o755, mtime: time.Now(), kids: map[string]*node{}}
	return &Memory{s: &memStore{root: root}, readOnly: readOnly}
}

// Share returns another view of the same files: one user's home opened by
// two sessions, or by a read-only account.
func (m *Memory) Share(readOnly bool) *Memory { return &Memory{s: m.s, readOnly: readOnly} }

// SetCapacity limits the bytes all files may hold together (0: no
// limit); a write beyond it fails with ErrNoSpace, as on a full disk.
func (m *Memory) SetCapacity(bytes int64) {
	m.s.mu.Lock()
	m.s.capacity = bytes
	m.s.mu.Unlock()
}

func (n *node) isDir() bool  { return n.mode.IsDir() }
func (n *node) isLink() bool { return n.mode&fs.ModeSymlink != 0 }

func (n *node) info(name string) fs.FileInfo {
	return memInfo{name: name, size: int64(len(n.data)), mode: n.mode, mtime: n.mtime}
}

type memInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return i.mode }
func (i memInfo) ModTime() time.Time { return i.mtime }
func (i memInfo) IsDir() bool        { return i.mode.IsDir() }
func (i memInfo) Sys() any           { return nil }

// lookup resolves name (relative to the root, as rel returns it) with the
// lock held. It returns the directory holding the final entry, the
// entry's name there and the entry, nil when it does not exist but its
// directory does. A final link is followed when follow is set; links on
// the way always are, and "..", from a link's target, never above the root.
func (s *memStore) lookup(name string, follow bool) (dir *node, base string, n *node, err error) {
	stack := []*node{s.root}
	parts := splitSlash(name)
	links := 0
	for len(parts) > 0 {
		c := parts[0]
		parts = parts[1:]
		cur := stack[len(stack)-1]
		switch {
		case c == ".":
			continue
		case c == "..":
			if len(stack) == 1 {
				return nil, "", nil, ErrEscape
			}
			stack = stack[:len(stack)-1]
			continue
		case reserved(c):
			return nil, "", nil, fs.ErrPermission
		}
		child := cur.kids[c]
		if len(parts) == 0 && (child == nil || !child.isLink() || !follow) {
			return cur, c, child, nil
		}
		switch {
		case child == nil:
			return nil, "", nil, fs.ErrNotExist
		case child.isLink():
			if links++; links > maxLinks {
				return nil, "", nil, ErrLoop
			}
			if absTarget(child.target) {
				return nil, "", nil, ErrEscape
			}
			parts = append(splitSlash(child.target), parts...)
		case !child.isDir():
			return nil, "", nil, ErrNotDir
		default:
			stack = append(stack, child)
		}
	}
	top := stack[len(stack)-1]
	if len(stack) == 1 {
		return nil, ".", top, nil
	}
	return stack[len(stack)-2], top.name, top, nil
}

// splitSlash splits a path as POSIX does: only "/" separates.
func splitSlash(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// find is lookup for an entry that must exist.
func (s *memStore) find(op, p, name string, follow bool) (*node, error) {
	_, _, n, err := s.lookup(name, follow)
	if err == nil && n == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		return nil, pathErr(op, p, err)
	}
	return n, nil
}

// grow makes room for n's data to reach size, within the capacity; it
// returns the size allowed.
func (s *memStore) grow(n *node, size int64) int64 {
	cur := int64(len(n.data))
	if size <= cur {
		return size
	}
	if s.capacity > 0 && s.used+size-cur > s.capacity {
		size = max(cur, s.capacity-s.used+cur)
	}
	if size > cur {
		n.data = append(n.data, make([]byte, size-cur)...)
		s.used += size - cur
	}
	return size
}

func (s *memStore) shrink(n *node, size int64) {
	if cur := int64(len(n.data)); size < cur {
		s.used -= cur - size
		n.data = n.data[:size]
	}
}

func (m *Memory) ReadOnly() bool { return m.readOnly }
func (m *Memory) Close() error   { return nil }

func (m *Memory) writable(op, p string) (string, error) {
	if m.readOnly {
		return "", pathErr(op, p, ErrReadOnly)
	}
	return rel(op, p)
}

func (m *Memory) stat(op, p string, follow bool) (fs.FileInfo, error) {
	name, err := rel(op, p)
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n, err := m.s.find(op, p, name, follow)
	if err != nil {
		return nil, err
	}
	return n.info(path.Base(name)), nil
}

func (m *Memory) Stat(p string) (fs.FileInfo, error)  { return m.stat("stat", p, true) }
func (m *Memory) Lstat(p string) (fs.FileInfo, error) { return m.stat("lstat", p, false) }

func (m *Memory) ReadDir(p string) (Lister, error) {
	name, err := rel("readdir", p)
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	d, err := m.s.find("readdir", p, name, true)
	if err != nil {
		return nil, err
	}
	if !d.isDir() {
		return nil, pathErr("readdir", p, ErrNotDir)
	}
	names := make([]string, 0, len(d.kids))
	for k := range d.kids { // map order: callers must not expect sorted names
		names = append(names, k)
	}
	return &memLister{s: m.s, d: d, names: names}, nil
}

type memLister struct {
	s     *memStore
	d     *node
	names []string
}

func (ls *memLister) Next(n int) ([]fs.FileInfo, error) {
	if n <= 0 {
		n = listBatch
	}
	ls.s.mu.Lock()
	defer ls.s.mu.Unlock()
	var out []fs.FileInfo
	for len(ls.names) > 0 && len(out) < n {
		name := ls.names[0]
		ls.names = ls.names[1:]
		if k := ls.d.kids[name]; k != nil { // else removed while listed
			out = append(out, k.info(name))
		}
	}
	if len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}

func (ls *memLister) Close() error { return nil }

func (m *Memory) Open(p string) (File, error) {
	name, err := rel("open", p)
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n, err := m.s.find("open", p, name, true)
	switch {
	case err != nil:
		return nil, err
	case n.isDir():
		return nil, pathErr("open", p, ErrIsDir)
	case !n.mode.IsRegular():
		return nil, pathErr("open", p, fs.ErrPermission)
	}
	return &memFile{s: m.s, n: n, name: path.Base(name)}, nil
}

type memFile struct {
	s    *memStore
	n    *node
	name string
	off  int64
}

func (f *memFile) Read(b []byte) (int, error) {
	n, err := f.ReadAt(b, f.off)
	f.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *memFile) ReadAt(b []byte, off int64) (int, error) {
	return f.s.readAt(f.n, b, off)
}

func (s *memStore) readAt(n *node, b []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if off < 0 {
		return 0, fs.ErrInvalid
	}
	if off >= int64(len(n.data)) {
		return 0, io.EOF
	}
	k := copy(b, n.data[off:])
	if k < len(b) {
		return k, io.EOF
	}
	return k, nil
}

func (f *memFile) Seek(off int64, whence int) (int64, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	switch whence {
	case io.SeekCurrent:
		off += f.off
	case io.SeekEnd:
		off += int64(len(f.n.data))
	}
	if off < 0 {
		return 0, fs.ErrInvalid
	}
	f.off = off
	return off, nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.n.info(f.name), nil
}

func (f *memFile) Close() error { return nil }

func (m *Memory) Create(p string) (Upload, error) {
	name, err := m.writable("create", p)
	if err != nil {
		return nil, err
	}
	if name == "." {
		return nil, pathErr("create", p, ErrIsDir)
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if _, _, n, err := m.s.lookup(name, true); err != nil {
		return nil, pathErr("create", p, err)
	} else if n != nil && n.isDir() {
		return nil, pathErr("create", p, ErrIsDir)
	}
	n := &node{mode: 0o644, mtime: time.Now()}
	return &memUpload{s: m.s, p: p, name: name, n: n, atomic: true}, nil
}

func (m *Memory) OpenAt(p string, offset int64) (Upload, error) {
	name, err := m.writable("resume", p)
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n, err := m.s.inPlace(name, offset <= 0)
	switch {
	case err != nil:
		return nil, pathErr("resume", p, err)
	case n == nil || offset > int64(len(n.data)):
		return nil, pathErr("resume", p, ErrBadOffset)
	}
	u := &memUpload{s: m.s, p: p, name: name, n: n, off: offset}
	if offset < 0 {
		u.off = int64(len(n.data))
	} else {
		m.s.shrink(n, offset)
	}
	return u, nil
}

func (m *Memory) OpenRandom(p string) (Upload, error) {
	name, err := m.writable("open", p)
	if err != nil {
		return nil, err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n, err := m.s.inPlace(name, true)
	if err != nil {
		return nil, pathErr("open", p, err)
	}
	return &memUpload{s: m.s, p: p, name: name, n: n}, nil
}

// inPlace finds the regular file to write in place, creating it when
// create is set (else a missing file is nil).
func (s *memStore) inPlace(name string, create bool) (*node, error) {
	dir, base, n, err := s.lookup(name, true)
	switch {
	case err != nil:
		return nil, err
	case n == nil && dir == nil:
		return nil, ErrIsDir
	case n == nil && create:
		n = &node{name: base, mode: 0o644, mtime: time.Now()}
		dir.kids[base] = n
	case n == nil:
	case n.isDir():
		return nil, ErrIsDir
	}
	return n, nil
}

// memUpload writes a detached node published on Commit (atomic), or a
// node in the tree.
type memUpload struct {
	s      *memStore
	p      string
	name   string
	n      *node
	atomic bool
	off    int64
	err    error
	done   bool
}

func (u *memUpload) usable() error {
	if u.done {
		return pathErr("write", u.p, fs.ErrClosed)
	}
	return u.err
}

func (u *memUpload) Write(b []byte) (int, error) {
	n, err := u.WriteAt(b, u.off)
	u.off += int64(n)
	return n, err
}

func (u *memUpload) WriteAt(b []byte, off int64) (int, error) {
	if err := u.usable(); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("write", u.p, fs.ErrInvalid)
	}
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	end := u.s.grow(u.n, off+int64(len(b)))
	k := 0
	if end > off {
		k = copy(u.n.data[off:end], b)
	}
	u.n.mtime = time.Now()
	if k < len(b) {
		u.err = pathErr("write", u.p, ErrNoSpace)
		return k, u.err
	}
	return k, nil
}

func (u *memUpload) ReadAt(b []byte, off int64) (int, error) { return u.s.readAt(u.n, b, off) }

func (u *memUpload) Stat() (fs.FileInfo, error) {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	return u.n.info(path.Base(u.name)), nil
}

func (u *memUpload) Truncate(size int64) error {
	if err := u.usable(); err != nil {
		return err
	}
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	u.s.shrink(u.n, size)
	if u.s.grow(u.n, size) < size {
		u.err = pathErr("truncate", u.p, ErrNoSpace)
		return u.err
	}
	return nil
}

func (u *memUpload) Chmod(mode fs.FileMode) error {
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	u.n.mode = u.n.mode&^fs.ModePerm | mode&fs.ModePerm
	return nil
}

func (u *memUpload) Sync() error { return u.usable() }

func (u *memUpload) Commit() error {
	if u.done {
		return pathErr("commit", u.p, fs.ErrClosed)
	}
	u.done = true
	u.s.mu.Lock()
	defer u.s.mu.Unlock()
	if !u.atomic {
		return u.err
	}
	err := u.err
	if err == nil {
		err = u.s.place(u.p, u.name, u.n)
	}
	if err != nil {
		u.s.used -= int64(len(u.n.data))
	}
	return err
}

// place publishes a finished upload under name, replacing a file or link.
func (s *memStore) place(p, name string, n *node) error {
	dir, base, old, err := s.lookup(name, false)
	switch {
	case err != nil:
		return pathErr("rename", p, err)
	case old != nil && old.isDir():
		return pathErr("rename", p, ErrIsDir)
	case old != nil:
		s.unlink(old)
	}
	n.name = base
	dir.kids[base] = n
	return nil
}

func (u *memUpload) Abort() error {
	if u.done {
		return nil
	}
	u.done = true
	if u.atomic {
		u.s.mu.Lock()
		u.s.used -= int64(len(u.n.data))
		u.s.mu.Unlock()
	}
	return nil
}
