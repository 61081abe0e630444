package client

import (
	"fmt"
	"path"
	"sync"
	"sync/atomic"
)

// List lists the folder p; when p is a file it returns that one file, as
// ls does. A p that is neither gives List's error.
func List(c Conn, p string) ([]Entry, error) {
	es, err := c.List(p)
	if err == nil {
		return es, nil
	}
	e, serr := c.Stat(p)
	if serr != nil || e.Dir {
		return nil, err
	}
	return []Entry{e}, nil
}

// Remove deletes the file or the empty folder p, whichever it is.
func Remove(c Conn, p string) error {
	e, err := c.Stat(p)
	if err != nil {
		return err
	}
	if e.Dir {
		return c.RemoveDir(p)
	}
	return c.Remove(p)
}

// parentDir is the folder of a remote path.
func parentDir(p string) string { return path.Dir(p) }

// MkdirAll creates the folder p and any missing parents (mkdir -p); a
// folder that exists is fine, anything else in the way is an error.
func MkdirAll(c Conn, p string) error {
	p = path.Clean(p)
	if p == "." || p == "/" || p == "" {
		return nil
	}
	if e, err := c.Stat(p); err == nil {
		if e.Dir {
			return nil
		}
		return withKind(ErrRemote, fmt.Errorf("%s exists and is not a folder", p))
	}
	if err := MkdirAll(c, path.Dir(p)); err != nil {
		return err
	}
	if err := c.Mkdir(p); err != nil {
		if e, serr := c.Stat(p); serr == nil && e.Dir {
			return nil // made meanwhile
		}
		return err
	}
	return nil
}

// RemoveAll deletes p and, for a folder, everything in it, never
// following a symbolic link (the link is deleted, not what it points to).
// It returns the number of files and folders deleted.
func (x *Transfer) RemoveAll(p string) (int, error) {
	pool := x.thePool()
	e, err := stat(pool, p)
	if err != nil {
		return 0, err
	}
	c, err := pool.Get()
	if err != nil {
		return 0, err
	}
	if !e.Dir || isLink(c, p) {
		err = c.Remove(p)
		pool.release(c, err)
		if err != nil {
			return 0, err
		}
		return 1, nil
	}
	pool.Put(c)
	t, err := x.walkRemote(pool, p, false)
	if err != nil {
		return 0, err
	}
	var count atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	files := make(chan string)
	for range max(1, pool.Shares()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range files {
				c, err := pool.Get()
				if err == nil {
					err = c.Remove(f)
					pool.release(c, err)
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
				if err == nil {
					count.Add(1)
				}
			}
		}()
	}
	for _, f := range t.files {
		files <- f.path
	}
	close(files)
	wg.Wait()
	if first != nil {
		return int(count.Load()), first
	}
	c, err = pool.Get()
	if err != nil {
		return int(count.Load()), err
	}
	defer func() { pool.release(c, err) }()
	for i := len(t.dirs) - 1; i >= 0; i-- {
		if err = c.RemoveDir(t.dirs[i].path); err != nil {
			return int(count.Load()), err
		}
		count.Add(1)
	}
	if err = c.RemoveDir(p); err != nil {
		return int(count.Load()), err
	}
	return int(count.Load()) + 1, nil
}

// isLink tells whether p itself is a symbolic link, from its parent's
// listing.
func isLink(c Conn, p string) bool {
	dir, name := path.Dir(path.Clean(p)), path.Base(path.Clean(p))
	es, err := c.List(dir)
	if err != nil {
		return false
	}
	for _, e := range es {
		if e.Name == name {
			return e.Link
		}
	}
	return false
}
