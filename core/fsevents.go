package core

import (
	"errors"
	"io/fs"
	"strconv"
	"time"

	"github.com/ferry-project/ferry/vfs"
)

// eventFS is a session's file system as the adapters see it: every change
// that is not a transfer (mkdir, rmdir, delete, rename, setstat) emits its
// event here, once, whichever protocol asked for it. Uploads and downloads
// are emitted by the adapters, which know when a transfer ends and how.
type eventFS struct {
	vfs.FS
	cn *Conn
}

func (f eventFS) Mkdir(p string) error { return f.op(EventMkdir, p, "", f.FS.Mkdir(p)) }
func (f eventFS) Rmdir(p string) error { return f.op(EventRmdir, p, "", f.FS.Rmdir(p)) }
func (f eventFS) Remove(p string) error {
	return f.op(EventDelete, p, "", f.FS.Remove(p))
}

func (f eventFS) Rename(oldp, newp string) error {
	return f.op(EventRename, oldp, newp, f.FS.Rename(oldp, newp))
}

func (f eventFS) Chtimes(p string, mtime time.Time) error {
	return f.op(EventSetstat, p, "", f.FS.Chtimes(p, mtime), "mtime", mtime.UTC().Format(time.RFC3339))
}

func (f eventFS) Chmod(p string, mode fs.FileMode) error {
	return f.op(EventSetstat, p, "", f.FS.Chmod(p, mode), "mode", "0"+strconv.FormatUint(uint64(mode.Perm()), 8))
}

func (f eventFS) Truncate(p string, size int64) error {
	return f.op(EventSetstat, p, "", f.FS.Truncate(p, size), "size", size)
}

// op emits the event of one change and returns its error. An escape is not
// emitted here: the adapter's error table reports it with Refuse, once.
func (f eventFS) op(kind, p, target string, err error, attrs ...any) error {
	if !errors.Is(err, vfs.ErrEscape) {
		f.cn.Emit(Event{Kind: kind, Path: p, Target: target, Err: err, Attrs: attrs})
	}
	return err
}

// Refuse logs an attempt the session was refused, such as a path that
// leads outside the home, with the path it named.
func (cn *Conn) Refuse(path, reason string) {
	cn.logger().Warn("refused", "event", EventRefused, "path", path, "reason", reason)
}

// StatFS tells the capacity of the session's storage (vfs.StatFS); it
// changes nothing, so it emits nothing.
func (f eventFS) StatFS() (vfs.Usage, error) { return vfs.StatFS(f.FS) }
