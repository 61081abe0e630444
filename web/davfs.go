package web

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
	"golang.org/x/net/webdav"
)

// davFS is a session's vfs.FS as golang.org/x/net/webdav sees it, for
// one request: every operation goes through the session's file system
// (which emits the events of changes), uploads are atomic vfs uploads
// whose bytes move through core.Transfer, and the first storage error is
// kept so that the answer comes from this package's one table
// (fsStatuses) rather than webdav's generic ones.
type davFS struct {
	fsys vfs.FS
	cn   *core.Conn
	t    *core.Transfer
	// props are the user's dead properties (PROPPATCH).
	props *davProps
	// err is the first storage error of the request (see davHandler).
	err error
	// read counts the bytes read from files (a GET's download).
	read int64
}

// keep remembers the first storage error and returns err.
func (d *davFS) keep(err error) error {
	if err != nil && d.err == nil {
		d.err = err
	}
	return err
}

// vpath maps a webdav name to a virtual path; a name that climbs above
// the home keeps its ".." so that the vfs refuses it as ErrEscape.
func vpath(name string) string { return vfs.Join("/", name) }

func (d *davFS) Mkdir(_ context.Context, name string, _ os.FileMode) error {
	return d.keep(d.fsys.Mkdir(vpath(name)))
}

func (d *davFS) Stat(_ context.Context, name string) (os.FileInfo, error) {
	fi, err := d.fsys.Stat(vpath(name))
	if err != nil {
		return nil, d.keepUnlessMissing(err)
	}
	return davInfo{fi}, nil
}

// keepUnlessMissing keeps err unless it is fs.ErrNotExist: webdav stats
// names to learn whether they exist, and answers their absence itself.
func (d *davFS) keepUnlessMissing(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return d.keep(err)
}

// Rename moves a file or folder, and its dead properties with it.
func (d *davFS) Rename(_ context.Context, oldName, newName string) error {
	oldp, newp := vpath(oldName), vpath(newName)
	if err := d.fsys.Rename(oldp, newp); err != nil {
		return d.keep(err)
	}
	d.props.move(oldp, newp)
	return nil
}

// RemoveAll deletes a file, or a folder with everything in it, depth
// first, each entry through the file system (one delete or rmdir event
// each). The home itself is never removed.
func (d *davFS) RemoveAll(_ context.Context, name string) error {
	p := vpath(name)
	if p == "/" {
		return d.keep(&fs.PathError{Op: "remove", Path: p, Err: fs.ErrPermission})
	}
	if err := d.removeAll(p); err != nil {
		// What was removed before the failure loses its properties.
		d.props.drop(p, func(q string) bool {
			_, err := d.fsys.Lstat(q)
			return errors.Is(err, fs.ErrNotExist)
		})
		return d.keep(err)
	}
	d.props.drop(p, nil)
	return nil
}

func (d *davFS) removeAll(p string) error {
	fi, err := d.fsys.Lstat(p)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return d.fsys.Remove(p)
	}
	for {
		ls, err := d.fsys.ReadDir(p)
		if err != nil {
			return err
		}
		infos, err := ls.Next(listBatch)
		ls.Close()
		if err == io.EOF {
			return d.fsys.Rmdir(p)
		}
		if err != nil {
			return err
		}
		// Entries are removed a batch at a time and the folder read again:
		// a listing stays valid only while nothing changes under it.
		for _, e := range infos {
			if err := d.removeAll(path.Join(p, e.Name())); err != nil {
				return err
			}
		}
	}
}

// OpenFile opens a file to read, a folder to list, or (O_CREATE with
// O_TRUNC, as webdav's PUT, COPY and LOCK of a new name ask) an atomic
// upload published on Close. Other writable opens (PROPPATCH asks for
// O_RDWR) get a read handle: what PROPPATCH changes is the handle's dead
// properties (DeadPropsHolder), not the file.
func (d *davFS) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	p := vpath(name)
	if flag&os.O_CREATE != 0 && flag&os.O_TRUNC != 0 {
		fi, err := d.fsys.Stat(p)
		if err == nil && fi.IsDir() {
			return nil, d.keep(&fs.PathError{Op: "create", Path: p, Err: vfs.ErrIsDir})
		}
		up, err := d.fsys.Create(p)
		if err != nil {
			return nil, d.keepUnlessMissing(err)
		}
		return &davUpload{d: d, up: up, p: p, start: time.Now()}, nil
	}
	fi, err := d.fsys.Stat(p)
	if err != nil {
		return nil, d.keepUnlessMissing(err)
	}
	if fi.IsDir() {
		return &davDir{d: d, p: p, fi: fi}, nil
	}
	f, err := d.fsys.Open(p)
	if err != nil {
		return nil, d.keep(err)
	}
	return &davFile{d: d, f: f, p: p}, nil
}

// davInfo names a file's content type by its extension, so that a
// PROPFIND does not open and read every file to sniff it.
type davInfo struct{ fs.FileInfo }

func (i davInfo) ContentType(context.Context) (string, error) {
	if i.IsDir() {
		return "httpd/unix-directory", nil
	}
	if ct := mime.TypeByExtension(path.Ext(i.Name())); ct != "" {
		return ct, nil
	}
	return "application/octet-stream", nil
}

// davFile is a file open for reading (GET, COPY's source).
type davFile struct {
	d *davFS
	f vfs.File
	p string
}

func (f *davFile) Read(b []byte) (int, error) {
	n, err := f.d.t.Source(f.f).Read(b)
	f.d.read += int64(n)
	if err != nil && err != io.EOF {
		f.d.keep(err)
	}
	return n, err
}

func (f *davFile) Seek(off int64, whence int) (int64, error) { return f.f.Seek(off, whence) }
func (f *davFile) Close() error                              { return f.f.Close() }
func (f *davFile) Write([]byte) (int, error)                 { return 0, fs.ErrPermission }
func (f *davFile) Readdir(int) ([]fs.FileInfo, error)        { return nil, vfs.ErrNotDir }

func (f *davFile) Stat() (fs.FileInfo, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return nil, f.d.keep(err)
	}
	return davInfo{fi}, nil
}

// davDir is a folder open for listing.
type davDir struct {
	d  *davFS
	p  string
	fi fs.FileInfo
}

func (*davDir) Read([]byte) (int, error)       { return 0, vfs.ErrIsDir }
func (*davDir) Write([]byte) (int, error)      { return 0, vfs.ErrIsDir }
func (*davDir) Seek(int64, int) (int64, error) { return 0, nil }
func (*davDir) Close() error                   { return nil }
func (dd *davDir) Stat() (fs.FileInfo, error)  { return davInfo{dd.fi}, nil }

// Readdir lists the whole folder (webdav asks for all entries at once); a
// symbolic link is described by its target when that is inside the home,
// as in the JSON listing, and left out otherwise.
func (dd *davDir) Readdir(int) ([]fs.FileInfo, error) {
	ls, err := dd.d.fsys.ReadDir(dd.p)
	if err != nil {
		return nil, dd.d.keep(err)
	}
	defer ls.Close()
	var all []fs.FileInfo
	for {
		infos, err := ls.Next(listBatch)
		if err == io.EOF {
			return all, nil
		}
		if err != nil {
			return nil, dd.d.keep(err)
		}
		for _, fi := range infos {
			if fi.Mode()&fs.ModeSymlink != 0 {
				t, err := dd.d.fsys.Stat(path.Join(dd.p, fi.Name()))
				if err != nil {
					continue
				}
				fi = namedInfo{t, fi.Name()}
			}
			all = append(all, davInfo{fi})
		}
	}
}

// namedInfo is a link's target under the link's name.
type namedInfo struct {
	fs.FileInfo
	name string
}

func (n namedInfo) Name() string { return n.name }

// davUpload is an atomic upload: its bytes come through core.Transfer
// (io.Copy calls ReadFrom), and Close publishes it (Commit) when every
// byte arrived, or discards it.
type davUpload struct {
	d     *davFS
	up    vfs.Upload
	p     string
	start time.Time
	n     int64
	err   error // the first failure, of the client or the storage
	// patches are the properties a COPY gives the new file, set when it
	// is published.
	patches []webdav.Proppatch
}

// ReadFrom receives the body of a PUT (or a COPY's source).
func (u *davUpload) ReadFrom(r io.Reader) (int64, error) {
	n, err := u.d.t.Receive(u.up, r)
	u.n += n
	if err != nil && u.err == nil {
		u.err = err
		if !errors.Is(err, core.ErrPeer) {
			u.d.keep(err)
		}
	}
	return n, err
}

func (u *davUpload) Write(b []byte) (int, error) {
	n, err := u.up.Write(b)
	u.n += int64(n)
	if err != nil && u.err == nil {
		u.err = u.d.keep(err)
	}
	return n, err
}

func (u *davUpload) Close() error {
	e := core.Event{Kind: core.EventUpload, Path: u.p, Bytes: u.n, Attrs: []any{"via", "webdav"}}
	switch {
	case u.err != nil && errors.Is(u.err, core.ErrPeer) && u.d.cn.KeepInterrupted(u.err):
		// uploads.interrupted = "keep": publish what arrived.
		e.Err, e.Result = u.err, core.ResultAborted
		e.Attrs = append(e.Attrs, "kept", u.up.Commit() == nil)
	case u.err != nil:
		u.up.Abort()
		e.Err = u.err
		if errors.Is(u.err, core.ErrPeer) {
			e.Result = core.ResultAborted
		}
	default:
		if err := u.up.Commit(); err != nil {
			e.Err = u.d.keep(err)
		} else if u.patches != nil {
			_, e.Err = u.d.props.patch(u.p, u.patches)
		}
	}
	e.Duration = time.Since(u.start)
	u.d.cn.Emit(e)
	return e.Err
}

func (u *davUpload) Stat() (fs.FileInfo, error)       { return u.up.Stat() }
func (*davUpload) Read([]byte) (int, error)           { return 0, fs.ErrPermission }
func (*davUpload) Seek(int64, int) (int64, error)     { return 0, fs.ErrPermission }
func (*davUpload) Readdir(int) ([]fs.FileInfo, error) { return nil, vfs.ErrNotDir }
