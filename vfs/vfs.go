package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// FS is one user's view of their files, rooted at the home ("/"). Paths
// are virtual: absolute, slash-separated, cleaned with Clean. An FS is
// safe for concurrent use; the Files, Uploads and Listers it returns are
// each used by one goroutine at a time.
type FS interface {
	// ReadOnly reports whether every write is refused with ErrReadOnly.
	ReadOnly() bool
	// Stat follows symbolic links (inside the home only); Lstat does not
	// follow a final link.
	Stat(p string) (fs.FileInfo, error)
	Lstat(p string) (fs.FileInfo, error)
	// ReadDir lists a directory in batches, in the backend's own order.
	// Entries are described as Lstat would: a link shows as a link.
	ReadDir(p string) (Lister, error)
	// Open opens a regular file for reading.
	Open(p string) (File, error)
	// Create starts an atomic upload: p appears, whole, on Commit and not
	// before; Abort or a failed write leaves p as it was.
	Create(p string) (Upload, error)
	// OpenAt resumes an upload in place at offset (cutting the file
	// there), creating it when offset is 0; offset < 0 appends. An offset
	// past the end is ErrBadOffset.
	OpenAt(p string, offset int64) (Upload, error)
	// OpenRandom opens p for reads and writes at any offset, in place and
	// without truncation, creating it if missing (SFTP).
	OpenRandom(p string) (Upload, error)
	Mkdir(p string) error
	// Remove deletes a file or a symbolic link; a directory is ErrIsDir.
	Remove(p string) error
	// Rmdir deletes an empty directory; the home is ErrPermission.
	Rmdir(p string) error
	// Rename moves oldp to newp, replacing a file or link at newp; an
	// existing directory there is fs.ErrExist (as os.Rename has it).
	Rename(oldp, newp string) error
	Chtimes(p string, mtime time.Time) error
	// Chmod sets the permission bits (mode & 0777).
	Chmod(p string, mode fs.FileMode) error
	Truncate(p string, size int64) error
	Readlink(p string) (string, error)
	// Symlink creates p pointing at target, a relative path that must
	// resolve inside the home, through the links that exist now.
	Symlink(target, p string) error
	// Link creates newp as a hard link to the file oldp (link(2): a final
	// symbolic link is linked itself, not followed), both in the home. An
	// existing newp is fs.ErrExist, a directory oldp is ErrIsDir.
	Link(oldp, newp string) error
	// Close releases the FS, after its Files, Uploads and Listers.
	Close() error
}

// File is a regular file open for reading.
type File interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	Stat() (fs.FileInfo, error)
}

// Upload is a file being written. It remembers its first write error:
// after one, every write fails with it and Commit discards the upload and
// returns it, so a file that missed bytes is never published. Commit or
// Abort ends the upload; Abort after Commit does nothing, so a deferred
// Abort is safe.
type Upload interface {
	io.Writer
	io.WriterAt
	// ReadAt reads back what is there (SFTP read-write handles).
	io.ReaderAt
	Stat() (fs.FileInfo, error)
	Truncate(size int64) error
	Chmod(mode fs.FileMode) error
	Sync() error
	Commit() error
	Abort() error
}

// Lister yields a directory's entries a batch at a time, so that memory
// does not grow with the size of the directory.
type Lister interface {
	// Next returns up to n entries (n <= 0: a backend default). It returns
	// at least one entry or an error; io.EOF once the directory is done.
	Next(n int) ([]fs.FileInfo, error)
	Close() error
}

// Errors every backend returns (inside an *fs.PathError naming the
// virtual path) and every protocol maps to its own answer, beside
// fs.ErrNotExist, fs.ErrExist, fs.ErrPermission and fs.ErrInvalid. Check
// them with errors.Is; ErrReadOnly, ErrEscape and ErrNotAllowed are also
// fs.ErrPermission, ErrNoSpace is also ErrIO.
var (
	ErrReadOnly = fmt.Errorf("read-only account: %w", fs.ErrPermission)
	ErrEscape   = fmt.Errorf("path leads outside the home: %w", fs.ErrPermission)
	// ErrNotAllowed is an operation the user's rights in a folder do not
	// grant (the core's folder rules).
	ErrNotAllowed = fmt.Errorf("not allowed in this folder: %w", fs.ErrPermission)
	// ErrCrossMount is a rename or link between two virtual folders (or
	// a virtual folder and the home): they are different storages, as
	// EXDEV has it; copy instead.
	ErrCrossMount  = errors.New("cannot move between virtual folders")
	ErrNotEmpty    = errors.New("directory not empty")
	ErrIsDir       = errors.New("is a directory")
	ErrNotDir      = errors.New("not a directory")
	ErrIO          = errors.New("storage failure")
	ErrNoSpace     = fmt.Errorf("no space left: %w", ErrIO)
	ErrNameTooLong = errors.New("file name too long")
	ErrLoop        = errors.New("too many levels of symbolic links")
	ErrBadOffset   = errors.New("offset beyond the end of the file")
	// ErrNotSupported is an operation the backend cannot do at all (object
	// storage has no links, modes, in-place rewrites nor folder renames):
	// refused whole, nothing changed.
	ErrNotSupported = errors.New("not supported by this storage")
)

// TempDir is the reserved directory at the root of every home where
// uploads in progress are written (same file system as their target, so
// Commit's rename is atomic). No path may name it, at any depth and in
// any letter case: every operation refuses it with fs.ErrPermission and
// listings never show it, so users can neither see, create, open nor
// hide files in it. CleanTemp empties it at start-up.
const TempDir = ".ferry-tmp"

// reserved reports whether a path component names TempDir, also as
// Windows would read it (trailing dots and spaces dropped, ":stream"
// suffix ignored), so that no spelling reaches it.
func reserved(name string) bool {
	name, _, _ = strings.Cut(name, ":")
	return strings.EqualFold(strings.TrimRight(name, ". "), TempDir)
}

// Clean resolves name against the working directory cwd and returns an
// absolute virtual path ("/" is the home). ".." never climbs above "/",
// as in a chroot: for navigation (FTP's CWD, SFTP's REALPATH).
func Clean(cwd, name string) string {
	if !strings.HasPrefix(name, "/") {
		name = path.Join("/", cwd, name)
	}
	return path.Clean("/" + name)
}

// Join resolves name against the working directory cwd like Clean, but a
// name that climbs above the home keeps its leading ".." ("/../etc"):
// every FS operation refuses such a path with ErrEscape, so the attempt
// is answered and logged as one.
func Join(cwd, name string) string {
	if strings.HasPrefix(name, "/") {
		name = name[1:]
	} else {
		name = path.Join(strings.TrimPrefix(cwd, "/"), name)
	}
	if c := path.Clean(name); c != "." {
		return "/" + c
	}
	return "/"
}

// rel maps a virtual path to a name relative to the home ("." for the
// home). It fails with ErrEscape for a path that climbs above the home and
// with fs.ErrPermission when a component is reserved.
func rel(op, p string) (string, error) {
	r := path.Clean(strings.TrimPrefix(p, "/"))
	if r == ".." || strings.HasPrefix(r, "../") {
		return "", pathErr(op, p, ErrEscape)
	}
	if r == "." {
		return ".", nil
	}
	for _, c := range splitTarget(r) { // backslashes too: os.Root splits on them on Windows
		if reserved(c) {
			return "", &fs.PathError{Op: op, Path: p, Err: fs.ErrPermission}
		}
	}
	return r, nil
}

// Rel is rel for the backends outside this package (object storage): the
// name of p relative to the home, "." for the home, or the refusal of a
// path that climbs out (ErrEscape) or names TempDir (fs.ErrPermission).
func Rel(op, p string) (string, error) { return rel(op, p) }

func pathErr(op, p string, err error) error { return &fs.PathError{Op: op, Path: p, Err: err} }

// PathOf is the virtual path a vfs error names, "" when it names none: for
// the log line of a refusal.
func PathOf(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path
	}
	return ""
}

// maxLinks bounds the symbolic links followed while resolving one path,
// as Linux's MAXSYMLINKS does (path_resolution(7)).
const maxLinks = 40

// linkView is what checkLinkTarget needs from a backend: an entry's type
// and a link's target, by a path relative to the home that contains no
// link and no "..".
type linkView interface {
	lmode(rel string) (fs.FileMode, error)
	readlink(rel string) (string, error)
}

// splitTarget splits a link target into components. Backslashes separate
// too: Windows reads them so, and elsewhere the check only gets stricter.
func splitTarget(t string) []string {
	return strings.FieldsFunc(t, func(r rune) bool { return r == '/' || r == '\\' })
}

// absTarget reports a target that is absolute or names a volume ("/x",
// "\x", "C:x"): such a link leaves the home.
func absTarget(t string) bool {
	return strings.HasPrefix(t, "/") || strings.HasPrefix(t, `\`) || len(t) >= 2 && t[1] == ':'
}

// checkLinkTarget refuses a symbolic link at p whose target, resolved the
// way the operating system will resolve it, leaves the home or enters
// TempDir. The link's directory and then the target are walked one
// component at a time through the links that exist now: a lexical check
// is not enough, since with "loop -> ." the target
// "loop/loop/../../etc/passwd" looks inside and leads out. A target that
// reaches a missing component may only descend from there, so a link
// created later cannot turn it outward.
func checkLinkTarget(v linkView, p, target string) error {
	if target == "" {
		return fs.ErrInvalid
	}
	if absTarget(target) {
		return ErrEscape
	}
	links := 0
	dir, err := walkLinks(v, nil, splitTarget(path.Dir(Clean("/", p))), &links)
	if err != nil {
		return err
	}
	_, err = walkLinks(v, dir, splitTarget(target), &links)
	return err
}

// walkLinks resolves parts from the directory stack (components of a
// link-free path from the home) and returns the resulting stack.
func walkLinks(v linkView, stack, parts []string, links *int) ([]string, error) {
	for len(parts) > 0 {
		c := parts[0]
		parts = parts[1:]
		switch {
		case c == ".":
			continue
		case c == "..":
			if len(stack) == 0 {
				return nil, ErrEscape
			}
			stack = stack[:len(stack)-1]
			continue
		case reserved(c):
			return nil, fs.ErrPermission
		}
		next := append(stack[:len(stack):len(stack)], c)
		mode, err := v.lmode(strings.Join(next, "/"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			for _, r := range parts {
				if r == ".." {
					return nil, ErrEscape
				}
				if reserved(r) {
					return nil, fs.ErrPermission
				}
			}
			return next, nil
		case err != nil:
			return nil, err
		case mode&fs.ModeSymlink != 0:
			if *links++; *links > maxLinks {
				return nil, ErrLoop
			}
			t, err := v.readlink(strings.Join(next, "/"))
			if err != nil {
				return nil, err
			}
			if absTarget(t) {
				return nil, ErrEscape
			}
			parts = append(splitTarget(t), parts...)
		case mode.IsDir():
			stack = next
		default:
			for _, r := range parts {
				if r != "." {
					return nil, ErrNotDir
				}
			}
			return next, nil
		}
	}
	return stack, nil
}
