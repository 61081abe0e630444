package client

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxDepth bounds how deep a tree walk goes, whatever the links: the
// last guard against a loop no identity revealed.
const maxDepth = 64

// item is one entry of a walked tree.
type item struct {
	rel   string // slash-separated path under the root; "" is the root
	path  string // where it is: the server's path, or the local one
	size  int64
	mtime time.Time
	dir   bool
	link  bool // a symbolic link (kept as such when links are not followed)
}

// tree is a walked folder: folders parents first, then files.
type tree struct {
	dirs  []item
	files []item
}

// safeName refuses names that would leave the folder they are listed in.
func safeName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, `/\`) && !strings.ContainsRune(n, 0)
}

// rnode is a remote folder being walked, with what identifies it and its
// ancestors, to tell a loop.
type rnode struct {
	item
	depth int
	real  string   // the server's path with links resolved ("" unknown)
	reals []string // real paths of the ancestors and itself
	ids   []string // MLSx unique facts of the ancestors and itself
	fps   []string // listing fingerprints of the ancestors
	// blind: reached through a link whose target nothing tells, so only
	// its listing can show that it is one of its ancestors.
	blind bool
}

// walkRemote lists the tree under root, several folders at once over the
// pool. With follow, a symbolic link to a file counts as that file and
// one to a folder is walked, unless it leads back into a folder it is in
// (told by the server's identity of folders where it gives one: MLSx
// "unique", SFTP REALPATH, the link target; else by the listing being the
// same as an ancestor's) or deeper than maxDepth. Without follow, links
// are listed as files, never entered (for removal).
func (x *Transfer) walkRemote(pool *Pool, root string, follow bool) (*tree, error) {
	c, err := pool.Get()
	if err != nil {
		return nil, err
	}
	real := ""
	if pr, ok := c.(pather); ok {
		if r, err := pr.realpath(root); err == nil {
			real = r
		}
	} else if path.IsAbs(root) {
		real = path.Clean(root)
	}
	pool.Put(c)
	t := &tree{}
	level := []*rnode{{item: item{path: root, dir: true}, real: real, reals: []string{real}}}
	var mu sync.Mutex
	for len(level) > 0 {
		var next []*rnode
		var first error
		var wg sync.WaitGroup
		work := make(chan *rnode)
		for range min(len(level), max(1, pool.Shares())) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range work {
					kids, files, walked, err := x.listNode(pool, n, follow)
					mu.Lock()
					if err != nil && first == nil {
						first = err
					}
					if walked && n.rel != "" {
						t.dirs = append(t.dirs, n.item)
					}
					next = append(next, kids...)
					t.files = append(t.files, files...)
					mu.Unlock()
				}
			}()
		}
		for _, n := range level {
			work <- n
		}
		close(work)
		wg.Wait()
		if first != nil {
			return nil, first
		}
		level = next
	}
	// Parents sort before their children.
	slices.SortFunc(t.dirs, func(a, b item) int { return strings.Compare(a.rel, b.rel) })
	slices.SortFunc(t.files, func(a, b item) int { return strings.Compare(a.rel, b.rel) })
	return t, nil
}

// listNode lists one folder and sorts its entries into folders to walk and
// files; walked is false when the folder turns out to be a loop.
func (x *Transfer) listNode(pool *Pool, n *rnode, follow bool) (kids []*rnode, files []item, walked bool, err error) {
	c, err := pool.getNear()
	if err != nil {
		return nil, nil, false, err
	}
	defer func() { pool.release(c, err) }()
	es, err := c.List(n.path)
	if err != nil {
		return nil, nil, false, err
	}
	fp := listingSum(es)
	if _, hides := c.(linkHider); (n.blind || hides) && slices.Contains(n.fps, fp) {
		x.notice("skipping %s: a symbolic link to a folder that contains it (a loop)", n.path)
		return nil, nil, false, nil
	}
	for _, e := range es {
		if !safeName(e.Name) {
			x.notice("skipping unsafe name %q in %s", e.Name, n.path)
			continue
		}
		it := item{rel: path.Join(n.rel, e.Name), path: path.Join(n.path, e.Name), size: e.Size, mtime: e.ModTime, dir: e.Dir, link: e.Link}
		if e.Link && !follow {
			it.dir, it.size = false, 0
			files = append(files, it)
			continue
		}
		if e.Link && !e.resolved {
			st, err := c.Stat(it.path)
			if err != nil || st.Link && !st.Dir {
				// Not followed: a server that describes the link itself
				// could not follow it either.
				x.notice("skipping %s: a symbolic link that leads nowhere the server serves", it.path)
				continue
			}
			e.Dir, e.Size, e.ModTime, e.Special = st.Dir, st.Size, st.ModTime, st.Special
			it.dir, it.size, it.mtime = st.Dir, st.Size, st.ModTime
		}
		switch {
		case e.Special && e.Link:
			x.notice("skipping %s: a symbolic link that leads nowhere the server serves", it.path)
			continue
		case e.Special:
			x.notice("skipping %s: not a regular file, folder or link", it.path)
			continue
		case !e.Dir:
			files = append(files, it)
			continue
		}
		kid, why := x.child(c, n, e, it)
		if why != "" {
			x.notice("skipping %s: %s", it.path, why)
			continue
		}
		kid.fps = append(slices.Clip(n.fps), fp)
		kids = append(kids, kid)
	}
	return kids, files, true, nil
}

// child makes the node of a sub-folder, or says why it is not walked.
func (x *Transfer) child(c Conn, n *rnode, e Entry, it item) (*rnode, string) {
	if n.depth+1 > maxDepth {
		return nil, fmt.Sprintf("deeper than %d folders", maxDepth)
	}
	kid := &rnode{item: it, depth: n.depth + 1}
	switch {
	case e.Link:
		target := e.Target
		if lr, ok := c.(linkReader); ok && target == "" {
			target, _ = lr.readlink(it.path)
		}
		if target != "" && n.real != "" {
			kid.real = resolveLink(n.real, target)
			if _, sftp := c.(linkReader); sftp {
				// SFTP: the server's REALPATH resolves further links.
				if r, err := c.(pather).realpath(kid.real); err == nil {
					kid.real = r
				}
			}
		}
		kid.blind = kid.real == "" && e.id == ""
	case n.real != "":
		kid.real = path.Join(n.real, e.Name)
	}
	if kid.real != "" {
		for _, r := range n.reals {
			if r != "" && (r == kid.real || strings.HasPrefix(r, strings.TrimSuffix(kid.real, "/")+"/")) {
				return nil, "a symbolic link to a folder that contains it (a loop)"
			}
		}
	}
	if e.id != "" && slices.Contains(n.ids, e.id) {
		return nil, "a folder that contains itself through a link (a loop)"
	}
	kid.reals = append(slices.Clip(n.reals), kid.real)
	kid.ids = append(slices.Clip(n.ids), e.id)
	return kid, ""
}

// resolveLink is where a link in folder dir pointing at target leads.
func resolveLink(dir, target string) string {
	if path.IsAbs(target) {
		return path.Clean(target)
	}
	return path.Join(dir, target)
}

// listingSum sums a listing: two folders with the same fingerprint hold
// the same names, types, sizes and times.
func listingSum(es []Entry) string {
	lines := make([]string, 0, len(es))
	for _, e := range es {
		lines = append(lines, e.Name+"\x00"+strconv.FormatBool(e.Dir)+"\x00"+strconv.FormatInt(e.Size, 10)+"\x00"+strconv.FormatInt(e.ModTime.Unix(), 10))
	}
	slices.Sort(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return string(h[:])
}

// walkLocal lists a local tree. With follow, links count as what they
// point at, except a link to a folder that contains it (the same file as
// an ancestor: a loop) and anything deeper than maxDepth; without, links
// are listed as files, never entered.
func (x *Transfer) walkLocal(root string, follow bool) (*tree, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, withKind(ErrLocal, err)
	}
	t := &tree{}
	err = x.walkLocalDir(t, root, "", []fs.FileInfo{fi}, follow)
	return t, err
}

func (x *Transfer) walkLocalDir(t *tree, dir, rel string, chain []fs.FileInfo, follow bool) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return withKind(ErrLocal, err)
	}
	for _, de := range des {
		p, r := filepath.Join(dir, de.Name()), path.Join(rel, de.Name())
		fi, err := de.Info()
		if err != nil {
			return withKind(ErrLocal, err)
		}
		it := item{rel: r, path: p, size: fi.Size(), mtime: fi.ModTime(), link: fi.Mode()&fs.ModeSymlink != 0}
		if it.link && !follow {
			it.size = 0
			t.files = append(t.files, it)
			continue
		}
		if it.link {
			if fi, err = os.Stat(p); err != nil {
				x.notice("skipping %s: a symbolic link that leads nowhere", p)
				continue
			}
			it.size, it.mtime = fi.Size(), fi.ModTime()
		}
		switch {
		case fi.Mode().IsRegular():
			t.files = append(t.files, it)
		case fi.IsDir():
			if len(chain) > maxDepth {
				x.notice("skipping %s: deeper than %d folders", p, maxDepth)
				continue
			}
			if slices.ContainsFunc(chain, func(a fs.FileInfo) bool { return os.SameFile(a, fi) }) {
				x.notice("skipping %s: a symbolic link to a folder that contains it (a loop)", p)
				continue
			}
			it.dir, it.size = true, 0
			t.dirs = append(t.dirs, it)
			if err := x.walkLocalDir(t, p, r, append(slices.Clip(chain), fi), follow); err != nil {
				return err
			}
		default:
			x.notice("skipping %s: not a regular file, folder or link", p)
		}
	}
	return nil
}
