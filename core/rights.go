package core

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

// Rights is a set of things a user may do in a folder.
type Rights uint8

// The rights of a folder rule.
const (
	RightList      Rights = 1 << iota // see the folder's entries and their details
	RightDownload                     // read a file's content (also hashes of it)
	RightUpload                       // create a new file (or a link)
	RightOverwrite                    // change an existing file: replace, resume, append, truncate, set times or mode
	RightDelete                       // delete a file or an empty folder
	RightRename                       // move or rename an entry away from here
	RightMkdir                        // create a folder
	AllRights      = RightList | RightDownload | RightUpload | RightOverwrite | RightDelete | RightRename | RightMkdir
	// ReadRights are a read-only account's: ferry user add --read-only.
	ReadRights = RightList | RightDownload
)

var rightNames = []string{"list", "download", "upload", "overwrite", "delete", "rename", "mkdir"}

// ErrBadRights is a rights list with an unknown name.
var ErrBadRights = errors.New("unknown right")

// ParseRights reads a comma list of rights: list, download, upload,
// overwrite, delete, rename, mkdir, or "all"; "" and "none" grant nothing.
func ParseRights(s string) (Rights, error) {
	var r Rights
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch i := slices.Index(rightNames, name); {
		case name == "" || name == "none":
		case name == "all":
			r |= AllRights
		case i >= 0:
			r |= 1 << i
		default:
			return 0, fmt.Errorf("%w %q: use %s, all or none", ErrBadRights, name, strings.Join(rightNames, ", "))
		}
	}
	return r, nil
}

// String is the rights as ParseRights reads them.
func (r Rights) String() string {
	if r == 0 {
		return "none"
	}
	var names []string
	for i, n := range rightNames {
		if r&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

// Rules are one user's rights by folder: a folder's rule holds for it and
// every path below it unless a deeper folder has a rule of its own. The
// home's rights when no rule names "/" are every right, or ReadRights for
// a read-only account. Folders compare as the storage may: without regard
// to letter case or to trailing dots and spaces (Windows and macOS file
// systems), so that no spelling of /outgoing escapes its rule.
type Rules struct {
	home  Rights
	rules []rule // longest path first
}

type rule struct {
	key    string // foldKey of the path
	rights Rights
}

// NewRules reads the rules of u; nil when u has none (its FS is then
// only read-only or not, as before rules existed).
func NewRules(u store.User) (*Rules, error) {
	if len(u.Rules) == 0 {
		return nil, nil
	}
	rs := &Rules{home: AllRights}
	if u.ReadOnly {
		rs.home = ReadRights
	}
	for _, r := range u.Rules {
		rights, err := ParseRights(r.Rights)
		if err != nil {
			return nil, fmt.Errorf("rule on %s: %w", r.Path, err)
		}
		p, err := RulePath(r.Path)
		if err != nil {
			return nil, err
		}
		if p == "/" {
			rs.home = rights
			continue
		}
		rs.rules = append(rs.rules, rule{foldKey(p), rights})
	}
	slices.SortFunc(rs.rules, func(a, b rule) int { return len(b.key) - len(a.key) })
	return rs, nil
}

// RulePath cleans the folder of a rule or a mount: absolute, no "..",
// not naming the reserved temporary folder.
func RulePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("folder %q must be an absolute path of the user's tree (/outgoing)", p)
	}
	c := vfs.Join("/", p)
	if strings.HasPrefix(c, "/..") {
		return "", fmt.Errorf("folder %q leads outside the home", p)
	}
	for _, comp := range strings.Split(c, "/") {
		if strings.EqualFold(strings.TrimRight(comp, ". "), vfs.TempDir) {
			return "", fmt.Errorf("folder %q names the reserved %s", p, vfs.TempDir)
		}
	}
	return c, nil
}

// foldKey is a clean virtual path as rules compare it.
func foldKey(p string) string {
	parts := strings.Split(vfs.Clean("/", p), "/")
	for i, c := range parts {
		c, _, _ = strings.Cut(c, ":") // Windows' alternate data streams
		parts[i] = strings.ToLower(strings.TrimRight(c, ". "))
	}
	return strings.Join(parts, "/")
}

// At is the rights at virtual path p: those of the deepest rule whose
// folder holds p.
func (rs *Rules) At(p string) Rights {
	k := foldKey(p)
	for _, r := range rs.rules {
		if k == r.key || strings.HasPrefix(k, r.key+"/") {
			return r.rights
		}
	}
	return rs.home
}

// below reports whether a rule names a folder strictly inside p.
func (rs *Rules) below(p string) bool {
	k := foldKey(p)
	if k == "/" {
		return len(rs.rules) > 0
	}
	for _, r := range rs.rules {
		if strings.HasPrefix(r.key, k+"/") {
			return true
		}
	}
	return false
}

// any is the union of the rights of every folder.
func (rs *Rules) any() Rights {
	r := rs.home
	for _, x := range rs.rules {
		r |= x.rights
	}
	return r
}
