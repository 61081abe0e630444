package client

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Action is one step of a mirror: a file to copy, a folder to create, an
// entry to delete.
type Action struct {
	Op     string `json:"op"` // get, put, mkdir, delete
	Path   string `json:"path"`
	Size   int64  `json:"size,omitempty"`
	Reason string `json:"reason,omitempty"` // new, size, time, checksum, extra, type
}

func (a Action) String() string {
	s := fmt.Sprintf("%-6s %s", a.Op, a.Path)
	if a.Op == "get" || a.Op == "put" {
		s += fmt.Sprintf(" (%s, %s)", a.Reason, size(a.Size))
	}
	return s
}

// Mirror makes one folder like another, one way: Up copies a local folder
// to the server, else the server's folder to this machine. A file is
// copied when the other side lacks it or has another size or
// modification time (to the second; when the server cannot set times,
// when the source is newer). Copies take the source's time. With Delete,
// what the source does not have is deleted; with DryRun nothing changes.
//
// With Checksum, files of the same size are compared by content instead
// of time: the server's hash (where it offers one) against this machine's.
// Where the server offers none, the comparison falls back to size and
// time, with a notice.
type Mirror struct {
	Up, Delete, DryRun, Checksum bool
	// Actions lists what was done (or, with DryRun, would be).
	Actions []Action
}

// entryMap indexes a walked tree by relative path.
type entryMap map[string]item

func index(t *tree) entryMap {
	m := entryMap{}
	for _, d := range t.dirs {
		m[d.rel] = d
	}
	for _, f := range t.files {
		m[f.rel] = f
	}
	return m
}

// Run mirrors src to dst (local paths and server paths as Up says).
func (m *Mirror) Run(x *Transfer, src, dst string) error {
	pool := x.thePool()
	x.Recursive = true
	local, remote := dst, src
	if m.Up {
		local, remote = src, dst
	}
	var srcTree, dstTree *tree
	var err error
	canSetTimes := true
	if m.Up {
		if fi, err := os.Stat(local); err != nil || !fi.IsDir() {
			return withKind(ErrUsage, fmt.Errorf("%s is not a folder: mirror copies folders (put copies a file)", local))
		}
		if srcTree, err = x.walkLocal(local, true); err != nil {
			return err
		}
		e, serr := stat(pool, remote)
		switch {
		case serr == nil && !e.Dir:
			return withKind(ErrRemote, fmt.Errorf("%s is not a folder on the server", remote))
		case serr == nil:
			if dstTree, err = x.walkRemote(pool, remote, false); err != nil {
				return err
			}
		default:
			dstTree = &tree{}
			if !m.DryRun {
				if err := x.mkdirAll(pool, remote); err != nil {
					return err
				}
			}
		}
		c, err := pool.Get()
		if err != nil {
			return err
		}
		ts, ok := c.(timeSetter)
		canSetTimes = ok && ts.canSetTimes()
		pool.Put(c)
	} else {
		e, err := stat(pool, remote)
		if err != nil {
			return err
		}
		if !e.Dir {
			return withKind(ErrUsage, fmt.Errorf("%s is not a folder: mirror copies folders (get copies a file)", remote))
		}
		if srcTree, err = x.walkRemote(pool, remote, true); err != nil {
			return err
		}
		dstTree = &tree{}
		if fi, err := os.Stat(local); err == nil && fi.IsDir() {
			if dstTree, err = x.walkLocal(local, false); err != nil {
				return err
			}
		} else if err == nil {
			return withKind(ErrLocal, fmt.Errorf("%s is not a folder", local))
		}
	}
	var differ map[string]bool
	if m.Checksum {
		if differ, err = m.hashes(x, pool, srcTree, dstTree); err != nil {
			return err
		}
	}
	plan, jobs, gone := m.plan(srcTree, dstTree, local, remote, canSetTimes, differ)
	m.Actions = plan
	if m.DryRun {
		return nil
	}
	if err := m.apply(x, local, remote, gone, plan, jobs); err != nil {
		return err
	}
	return nil
}

// plan compares the trees; gone lists what to delete first (extra
// entries, and entries of the wrong type in the way of the source's).
// differ holds the outcome of comparing hashes (see hashes), nil when
// none were compared.
func (m *Mirror) plan(src, dst *tree, local, remote string, canSetTimes bool, differ map[string]bool) (plan []Action, jobs []job, gone []item) {
	have := index(dst)
	want := index(src)
	op := "get"
	if m.Up {
		op = "put"
	}
	inWay := map[string]bool{}
	for _, d := range src.dirs {
		if h, ok := have[d.rel]; ok && !h.dir {
			if m.Delete {
				gone = append(gone, h)
				inWay[d.rel] = true
			}
		}
		if h, ok := have[d.rel]; !ok || !h.dir {
			plan = append(plan, Action{Op: "mkdir", Path: d.rel, Reason: "new"})
		}
	}
	for _, f := range src.files {
		h, ok := have[f.rel]
		reason := ""
		switch {
		case !ok:
			reason = "new"
		case h.dir:
			if !m.Delete {
				continue // a folder in the way: kept without --delete
			}
			gone = append(gone, h)
			inWay[f.rel] = true
			reason = "type"
		case h.size != f.size:
			reason = "size"
		case hashed(differ, f.rel):
			if differ[f.rel] {
				reason = "checksum"
			}
		case !m.Up || canSetTimes:
			if !sameTime(h.mtime, f.mtime) {
				reason = "time"
			}
		case f.mtime.After(h.mtime.Add(time.Second)):
			reason = "time" // the server keeps upload times: copy what is newer
		}
		if reason == "" {
			continue
		}
		plan = append(plan, Action{Op: op, Path: f.rel, Size: f.size, Reason: reason})
		j := job{size: f.size, mtime: f.mtime, up: m.Up}
		if m.Up {
			j.local, j.remote = f.path, path.Join(remote, f.rel)
		} else {
			j.remote, j.local = f.path, filepath.Join(local, filepath.FromSlash(f.rel))
		}
		jobs = append(jobs, j)
	}
	if m.Delete {
		for _, h := range append(append([]item{}, dst.dirs...), dst.files...) {
			if _, ok := want[h.rel]; ok || inWay[h.rel] || under(h.rel, gone) {
				continue
			}
			gone = append(gone, h)
		}
		// Delete what is extra only once: a folder takes its content along.
		slices.SortFunc(gone, func(a, b item) int { return strings.Compare(a.rel, b.rel) })
		var top []item
		for _, g := range gone {
			if !under(g.rel, top) {
				top = append(top, g)
			}
		}
		gone = top
		for _, g := range gone {
			plan = append(plan, Action{Op: "delete", Path: g.rel, Reason: "extra"})
		}
	}
	return plan, jobs, gone
}

func hashed(differ map[string]bool, rel string) bool {
	_, ok := differ[rel]
	return ok
}

// hashes compares by hash the files that both trees hold with the same
// size; see compareHashes. A file that could not be hashed on one side is
// compared by time.
func (m *Mirror) hashes(x *Transfer, pool *Pool, src, dst *tree) (map[string]bool, error) {
	have := index(dst)
	var pairs []hashPair
	for _, f := range src.files {
		h, ok := have[f.rel]
		if !ok || h.dir || h.link || h.size != f.size {
			continue
		}
		p := hashPair{rel: f.rel, local: h.path, remote: f.path}
		if m.Up {
			p.local, p.remote = f.path, h.path
		}
		pairs = append(pairs, p)
	}
	differ, ok, err := compareHashes(pool, pairs)
	if err != nil {
		return nil, err
	}
	if !ok {
		x.notice("--checksum: the server offers no file hashes; comparing size and modification time instead")
		return nil, nil
	}
	if n := len(pairs) - len(differ); n > 0 {
		x.notice("--checksum: %d of %d files could not be hashed; comparing their size and modification time", n, len(pairs))
	}
	return differ, nil
}

// under reports whether rel is inside one of the folders in dirs.
func under(rel string, dirs []item) bool {
	for _, d := range dirs {
		if d.dir && strings.HasPrefix(rel, d.rel+"/") {
			return true
		}
	}
	return false
}

// apply deletes what is extra, creates the folders, then copies.
func (m *Mirror) apply(x *Transfer, local, remote string, gone []item, plan []Action, jobs []job) error {
	pool := x.thePool()
	for _, g := range gone {
		var err error
		if m.Up {
			_, err = x.RemoveAll(path.Join(remote, g.rel))
		} else if err = os.RemoveAll(filepath.Join(local, filepath.FromSlash(g.rel))); err != nil {
			err = withKind(ErrLocal, err)
		}
		if err != nil {
			return err
		}
	}
	var dirs []item
	for _, a := range plan {
		if a.Op == "mkdir" {
			dirs = append(dirs, item{rel: a.Path, dir: true})
		}
	}
	if m.Up {
		if err := x.mkdirTree(pool, remote, dirs); err != nil {
			return err
		}
	} else {
		for _, d := range append([]item{{}}, dirs...) {
			if err := os.MkdirAll(filepath.Join(local, filepath.FromSlash(d.rel)), 0o755); err != nil {
				return withKind(ErrLocal, err)
			}
		}
	}
	x.KeepTimes = m.Up
	if len(jobs) == 0 {
		return nil
	}
	return x.run(jobs)
}
