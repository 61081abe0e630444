package core

import (
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
	"github.com/ferry-project/ferry/vfs/s3fs"
)

// storage returns how a user's file system is opened when Options give
// none: a home that is an s3:// URL is on that object storage; otherwise,
// with the global `storage` set, the user's folder under it; else the
// user's home on the disk. A storage URL that cannot be used fails here,
// at start-up.
func storage(c *config.Config) (func(store.User) (vfs.FS, error), error) {
	o := S3Options(c)
	var global s3fs.Location
	if c.Storage != "" {
		if err := s3fs.Check(c.Storage, o); err != nil {
			return nil, err
		}
		global, _ = s3fs.Parse(c.Storage)
	}
	home := func(u store.User, readOnly bool) (vfs.FS, error) {
		switch {
		case s3fs.IsURL(u.Home):
			return s3fs.OpenURL(u.Home, o, readOnly)
		case c.Storage != "":
			return s3fs.Open(global.Sub(u.Name), o, readOnly)
		}
		return vfs.NewLocal(u.Home, readOnly)
	}
	return func(u store.User) (vfs.FS, error) { return withMounts(u, home) }, nil
}

// S3Options are the credentials and part size of the [s3] section, for
// everything that opens object storage (homes, the start-up clean-up,
// the health check).
func S3Options(c *config.Config) s3fs.Options {
	return s3fs.Options{AccessKey: c.S3.AccessKey, SecretKey: c.S3.SecretKey, PartSize: int64(c.S3.PartSizeMB) << 20}
}
