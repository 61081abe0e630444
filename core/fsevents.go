package core

import (
	"errors"
	"io/fs"
	"strconv"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// eventFS is a session's file system as the adapters see it: every change
// that is not a transfer (mkdir, rmdir, delete, rename, setstat, link) emits its
// event here, once, whichever protocol asked for it. Uploads and downloads
// are emitted by the adapters, which know when a transfer ends and how.
type eventFS struct {
	vfs.FS
	cn    *Conn
	quota *usage // nil: not counted (no store)
}

func (f eventFS) Mkdir(p string) error { return f.op(EventMkdir, p, "", f.FS.Mkdir(p)) }
func (f eventFS) Rmdir(p string) error { return f.op(EventRmdir, p, "", f.FS.Rmdir(p)) }
func (f eventFS) Remove(p string) error {
	size, isFile := sizeOf(f.FS, p)
	err := f.FS.Remove(p)
	if err == nil && isFile {
		f.q(p).add(-size, -1)
	}
	return f.op(EventDelete, p, "", err)
}

func (f eventFS) Rename(oldp, newp string) error {
	size, replaced := sizeOf(f.FS, newp)
	err := f.FS.Rename(oldp, newp)
	if err == nil && replaced {
		f.q(newp).add(-size, -1)
	}
	return f.op(EventRename, oldp, newp, err)
}

// Create, OpenAt and OpenRandom count uploads against the user's quota
// (quotaUpload); a new file past quota_files is refused before any data.
func (f eventFS) Create(p string) (vfs.Upload, error) {
	if f.q(p) == nil {
		return f.FS.Create(p)
	}
	old, exists := sizeOf(f.FS, p)
	if !exists && !f.quota.fits(0, 1) {
		return nil, &fs.PathError{Op: "create", Path: p, Err: ErrQuota}
	}
	up, err := f.FS.Create(p)
	if err != nil {
		return nil, err
	}
	return &quotaUpload{Upload: up, u: f.quota, old: old, isNew: !exists}, nil
}

func (f eventFS) OpenAt(p string, offset int64) (vfs.Upload, error) {
	up, err := f.FS.OpenAt(p, offset)
	return f.inPlace(p, offset, up, err)
}

// q is the quota that counts changes at p: nil in a virtual folder, since
// quotas count the home only.
func (f eventFS) q(p string) *usage {
	if f.quota == nil || vfs.IsMounted(f.FS, p) {
		return nil
	}
	return f.quota
}

func (f eventFS) OpenRandom(p string) (vfs.Upload, error) {
	up, err := f.FS.OpenRandom(p)
	return f.inPlace(p, 0, up, err)
}

// inPlace wraps an upload into an existing file; offset -1 is an append.
func (f eventFS) inPlace(p string, offset int64, up vfs.Upload, err error) (vfs.Upload, error) {
	if err != nil || f.q(p) == nil {
		return up, err
	}
	fi, err := up.Stat()
	if err != nil {
		up.Abort()
		return nil, err
	}
	if offset < 0 {
		offset = fi.Size()
	}
	return &quotaUpload{Upload: up, u: f.quota, inPlace: true, old: fi.Size(), end: fi.Size(), pos: offset}, nil
}

// Symlink and Link emit a link event: path is the new name, target what
// it points to (a symbolic link's text, a hard link's file), and link
// says which kind.
func (f eventFS) Symlink(target, p string) error {
	return f.op(EventLink, p, target, f.FS.Symlink(target, p), "link", "symbolic")
}

func (f eventFS) Link(oldp, newp string) error {
	return f.op(EventLink, newp, oldp, f.FS.Link(oldp, newp), "link", "hard")
}

func (f eventFS) Chtimes(p string, mtime time.Time) error {
	return f.op(EventSetstat, p, "", f.FS.Chtimes(p, mtime), "mtime", mtime.UTC().Format(time.RFC3339))
}

func (f eventFS) Chmod(p string, mode fs.FileMode) error {
	return f.op(EventSetstat, p, "", f.FS.Chmod(p, mode), "mode", "0"+strconv.FormatUint(uint64(mode.Perm()), 8))
}

func (f eventFS) Truncate(p string, size int64) error {
	old, _ := sizeOf(f.FS, p)
	if size > old && !f.q(p).fits(size-old, 0) {
		return f.op(EventSetstat, p, "", &fs.PathError{Op: "truncate", Path: p, Err: ErrQuota}, "size", size)
	}
	err := f.FS.Truncate(p, size)
	if err == nil {
		f.q(p).add(size-old, 0)
	}
	return f.op(EventSetstat, p, "", err, "size", size)
}

// op emits the event of one change and returns its error. An escape is not
// emitted here: the adapter's error table reports it with Refuse, once.
func (f eventFS) op(kind, p, target string, err error, attrs ...any) error {
	if !errors.Is(err, vfs.ErrEscape) {
		f.cn.Emit(Event{Kind: kind, Path: p, Target: target, Err: err, Attrs: attrs})
	}
	return err
}

// Refuse logs a path the session was refused because it leads outside
// the home (an OffenceEscape), with the path it named.
func (cn *Conn) Refuse(path, reason string) {
	log, r := cn.loggerAndRecord(EventRefused)
	r.Path, r.Reason, r.Offence = path, reason, OffenceEscape
	cn.core.record(r)
	log.Warn("refused", "event", EventRefused, "path", path, "reason", reason)
}

// Offend logs a refusal that the defender scores against the client's
// address: offence is OffenceCommand (a malformed, unknown or refused
// command or request, what being its name) or OffenceData (a refused data
// connection, what being the address it named); what goes into the
// record's Target. Every protocol reports them here, so that all feed the
// same scores. The first FreeOffences of a session are recorded but not
// scored: real clients probe an extension or two and mistype; a scanner
// sends many. It returns the ban of the client's address if there is one
// now, so that the adapter can end the session with its reason.
func (cn *Conn) Offend(offence, what, reason string) error {
	r := cn.recordOf(EventRefused)
	cn.mu.Lock()
	cn.offences++
	free := cn.offences <= FreeOffences
	cn.mu.Unlock()
	if !free {
		r.Offence = offence
	}
	cn.core.offend(r, what, reason)
	_, err := cn.Banned()
	return err
}

// FreeOffences is how many scored refusals (Offend) a session makes before
// they count against its address.
const FreeOffences = 3

// StatFS tells the capacity of the session's storage (vfs.StatFS); it
// changes nothing, so it emits nothing.
func (f eventFS) StatFS() (vfs.Usage, error) { return vfs.StatFS(f.FS) }

// Mounted tells vfs.IsMounted what the storage says.
func (f eventFS) Mounted(p string) bool { return vfs.IsMounted(f.FS, p) }
