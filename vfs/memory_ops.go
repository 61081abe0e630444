package vfs

import (
	"io/fs"
	"time"
)

// The namespace operations of Memory: directories, renames, attributes
// and links.

func (m *Memory) Mkdir(p string) error {
	name, err := m.writable("mkdir", p)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	dir, base, n, err := m.s.lookup(name, false)
	switch {
	case err != nil:
		return pathErr("mkdir", p, err)
	case n != nil || dir == nil:
		return pathErr("mkdir", p, fs.ErrExist)
	}
	dir.kids[base] = &node{name: base, mode: fs.ModeDir | 0o755, mtime: time.Now(), kids: map[string]*node{}}
	return nil
}

func (m *Memory) Remove(p string) error {
	name, err := m.writable("remove", p)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	dir, base, n, err := m.s.lookup(name, false)
	switch {
	case err != nil:
		return pathErr("remove", p, err)
	case n == nil:
		return pathErr("remove", p, fs.ErrNotExist)
	case n.isDir():
		return pathErr("remove", p, ErrIsDir)
	}
	m.s.unlink(n)
	delete(dir.kids, base)
	return nil
}

func (m *Memory) Rmdir(p string) error {
	name, err := m.writable("rmdir", p)
	if err != nil {
		return err
	}
	if name == "." {
		return pathErr("rmdir", p, fs.ErrPermission)
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	dir, base, n, err := m.s.lookup(name, false)
	switch {
	case err != nil:
		return pathErr("rmdir", p, err)
	case n == nil:
		return pathErr("rmdir", p, fs.ErrNotExist)
	case !n.isDir():
		return pathErr("rmdir", p, ErrNotDir)
	case len(n.kids) > 0:
		return pathErr("rmdir", p, ErrNotEmpty)
	}
	delete(dir.kids, base)
	return nil
}

// Rename follows os.Rename: a file or directory replaces a file or link,
// nothing replaces a directory, and nothing moves into itself.
func (m *Memory) Rename(oldp, newp string) error {
	o, err := m.writable("rename", oldp)
	if err != nil {
		return err
	}
	nn, err := rel("rename", newp)
	if err != nil {
		return err
	}
	if o == "." || nn == "." {
		return pathErr("rename", oldp, fs.ErrPermission)
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	od, ob, src, err := m.s.lookup(o, false)
	if err == nil && src == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		return pathErr("rename", oldp, err)
	}
	nd, nb, dst, err := m.s.lookup(nn, false)
	switch {
	case err != nil:
		return pathErr("rename", oldp, err)
	case dst == src:
		return nil
	case src.isDir() && (nd == src || contains(src, nd)):
		return pathErr("rename", oldp, fs.ErrInvalid)
	case dst != nil && dst.isDir():
		return pathErr("rename", oldp, fs.ErrExist)
	case dst != nil && src.isDir():
		return pathErr("rename", oldp, ErrNotDir)
	case dst != nil:
		m.s.unlink(dst)
	}
	delete(od.kids, ob)
	src.name = nb
	nd.kids[nb] = src
	return nil
}

// contains reports whether d is inside the directory tree of n.
func contains(n, d *node) bool {
	for _, k := range n.kids {
		if k == d || k.isDir() && contains(k, d) {
			return true
		}
	}
	return false
}

// change applies f to the entry p leads to, following links.
func (m *Memory) change(op, p string, f func(n *node) error) error {
	name, err := m.writable(op, p)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n, err := m.s.find(op, p, name, true)
	if err != nil {
		return err
	}
	if err := f(n); err != nil {
		return pathErr(op, p, err)
	}
	return nil
}

func (m *Memory) Chtimes(p string, mtime time.Time) error {
	return m.change("chtimes", p, func(n *node) error { n.mtime = mtime; return nil })
}

func (m *Memory) Chmod(p string, mode fs.FileMode) error {
	return m.change("chmod", p, func(n *node) error {
		n.mode = n.mode&^fs.ModePerm | mode&fs.ModePerm
		return nil
	})
}

func (m *Memory) Truncate(p string, size int64) error {
	return m.change("truncate", p, func(n *node) error {
		if n.isDir() {
			return ErrIsDir
		}
		m.s.shrink(n, size)
		if m.s.grow(n, size) < size {
			return ErrNoSpace
		}
		return nil
	})
}

func (m *Memory) Readlink(p string) (string, error) {
	name, err := rel("readlink", p)
	if err != nil {
		return "", err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	n, err := m.s.find("readlink", p, name, false)
	if err != nil {
		return "", err
	}
	if !n.isLink() {
		return "", pathErr("readlink", p, fs.ErrInvalid)
	}
	return n.target, nil
}

func (m *Memory) Symlink(target, p string) error {
	name, err := m.writable("symlink", p)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if err := checkLinkTarget(lockedMemory{m.s}, p, target); err != nil {
		return pathErr("symlink", p, err)
	}
	dir, base, n, err := m.s.lookup(name, false)
	switch {
	case err != nil:
		return pathErr("symlink", p, err)
	case n != nil || dir == nil:
		return pathErr("symlink", p, fs.ErrExist)
	}
	dir.kids[base] = &node{name: base, mode: fs.ModeSymlink | 0o777, mtime: time.Now(), target: target}
	return nil
}

func (m *Memory) Link(oldp, newp string) error {
	o, err := m.writable("link", oldp)
	if err != nil {
		return err
	}
	nn, err := rel("link", newp)
	if err != nil {
		return err
	}
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	_, _, src, err := m.s.lookup(o, false)
	if err == nil && src == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		return pathErr("link", oldp, err)
	}
	if src.isDir() {
		return pathErr("link", oldp, ErrIsDir)
	}
	dir, base, dst, err := m.s.lookup(nn, false)
	switch {
	case err != nil:
		return pathErr("link", newp, err)
	case dst != nil || dir == nil:
		return pathErr("link", newp, fs.ErrExist)
	}
	src.links++
	dir.kids[base] = src
	return nil
}

// lockedMemory serves checkLinkTarget while the lock is held.
type lockedMemory struct{ s *memStore }

func (v lockedMemory) lmode(rel string) (fs.FileMode, error) {
	_, _, n, err := v.s.lookup(rel, false)
	if err == nil && n == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		return 0, err
	}
	return n.mode, nil
}

func (v lockedMemory) readlink(rel string) (string, error) {
	_, _, n, err := v.s.lookup(rel, false)
	if err == nil && n == nil {
		err = fs.ErrNotExist
	}
	if err != nil {
		return "", err
	}
	return n.target, nil
}
