package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/vfs"
)

func init() {
	userCommands["rescan"] = userRescan
}

// size parses a byte count: a number with an optional K, M, G or T
// (powers of 1024), as in "10G".
type size int64

func (s *size) String() string { return strconv.FormatInt(int64(*s), 10) }

func (s *size) Set(v string) error {
	mult := int64(1)
	if i := strings.IndexAny(strings.ToUpper(v), "KMGT"); i >= 0 && i == len(v)-1 {
		mult = 1 << (10 * (strings.IndexByte("KMGT", strings.ToUpper(v)[i]) + 1))
		v = v[:i]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return errors.New("want a number of bytes, optionally with K, M, G or T (0: no limit)")
	}
	*s = size(n * mult)
	return nil
}

// quotaSet is the quota flags of `ferry user set`; -1 is not given.
type quotaSet struct{ maxBytes, maxFiles size }

func quotaFlags(fs *flag.FlagSet) *quotaSet {
	q := &quotaSet{-1, -1}
	fs.Var(&q.maxBytes, "quota-bytes", "the most the user's files may use, e.g. 10G (0: no limit)")
	fs.Var(&q.maxFiles, "quota-files", "the most files the user may have (0: no limit)")
	return q
}

func (q *quotaSet) given() bool { return q.maxBytes >= 0 || q.maxFiles >= 0 }

// apply sets the quota; a running server applies it from the user's next
// login when the user has no other session.
func (q *quotaSet) apply(st store.Store, name string) error {
	ctx := context.Background()
	cur, err := st.Quota(ctx, name)
	if err != nil {
		return err
	}
	if q.maxBytes >= 0 {
		cur.MaxBytes = int64(q.maxBytes)
	}
	if q.maxFiles >= 0 {
		cur.MaxFiles = int64(q.maxFiles)
	}
	if err := st.SetQuota(ctx, name, cur.MaxBytes, cur.MaxFiles); err != nil {
		return err
	}
	fmt.Printf("quota of %s: %d bytes, %d files (0: no limit); used %d bytes, %d files\n", name, cur.MaxBytes, cur.MaxFiles, cur.UsedBytes, cur.UsedFiles)
	return nil
}

// userRescan counts the files in a user's home again and records the
// usage: after files changed on the disk behind ferry's back.
func userRescan(args []string) error {
	name, _, st, err := userStore("rescan", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	u, err := st.Get(ctx, name)
	if err != nil {
		return err
	}
	bytes, files, err := usageOf(u.Home)
	if err != nil {
		return err
	}
	if err := st.SetUsage(ctx, name, bytes, files); err != nil {
		return err
	}
	fmt.Printf("%s uses %d bytes in %d files\n", name, bytes, files)
	return nil
}

// usageOf sums the regular files under home, without following links and
// without the uploads in progress.
func usageOf(home string) (bytes, files int64, err error) {
	err = filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == vfs.TempDir && filepath.Dir(p) == filepath.Clean(home) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			bytes += fi.Size()
			files++
		}
		return nil
	})
	return bytes, files, err
}
