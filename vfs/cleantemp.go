package vfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
)

// CleanTemp removes the uploads left in home's TempDir by a server that
// stopped without finishing them (kill -9, a crash, power loss) and
// reports how many files and bytes it removed. The server calls it for
// every home before it accepts a client, when no upload can be running.
// Only ferry's own temporary files are removed; a home without TempDir is
// no error.
func CleanTemp(home string) (files int, bytes int64, err error) {
	r, err := os.OpenRoot(home)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	fi, err := r.Lstat(TempDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, 0, nil
	case err != nil:
		return 0, 0, err
	case !fi.IsDir():
		return 0, 0, errTempNotDir
	}
	d, err := r.Open(TempDir)
	if err != nil {
		return 0, 0, err
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(listBatch)
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), tempPrefix) || !e.Type().IsRegular() {
				continue
			}
			name := TempDir + "/" + e.Name()
			var size int64
			if info, err := e.Info(); err == nil {
				size = info.Size()
			}
			if err := r.Remove(name); err != nil {
				return files, bytes, err
			}
			files++
			bytes += size
		}
		if err == io.EOF {
			return files, bytes, nil
		}
		if err != nil {
			return files, bytes, err
		}
	}
}
