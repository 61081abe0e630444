package core

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"runtime"
	"strings"

	"github.com/ferry-project/ferry/vfs"
)

// ErrHashAlgorithm is a hash that ferry does not compute.
var ErrHashAlgorithm = errors.New("unknown hash algorithm")

// hashes bounds the files hashed at once, server-wide, to the cores but
// one: a hash reads a whole file and keeps a core busy (BenchmarkHash on
// the 2-core test machine, file in the page cache: SHA-256 0.53 GB/s,
// about 2 s of one core per GiB; SHA-1 0.8 GB/s; MD5 0.37 GB/s), so a
// client asking for many must not starve the transfers of other sessions.
// A request waits for a slot until its context ends.
var hashes = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)-1))

// NewHash returns the hash named (case-insensitive) "md5", "sha1"/"sha-1"
// or "sha256"/"sha-256", the names of the commands (md5sum, ...) and of
// draft-bryan-ftpext-hash (SHA-1, SHA-256, MD5).
func NewHash(name string) (hash.Hash, error) {
	switch strings.ToLower(name) {
	case "md5":
		return md5.New(), nil
	case "sha1", "sha-1":
		return sha1.New(), nil
	case "sha256", "sha-256":
		return sha256.New(), nil
	}
	return nil, ErrHashAlgorithm
}

// Hash returns the hex digest of the first n bytes of p from offset start
// (n < 0: to the end), read through the session's file system, once a
// slot among the server's concurrent hashes is free.
func Hash(ctx context.Context, fsys vfs.FS, p, algo string, start, n int64) (string, error) {
	h, err := NewHash(algo)
	if err != nil {
		return "", err
	}
	select {
	case hashes <- struct{}{}:
		defer func() { <-hashes }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	f, err := fsys.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var r io.Reader = io.NewSectionReader(f, start, 1<<62)
	if n >= 0 {
		r = io.LimitReader(r, n)
	}
	bp := Buffer()
	defer PutBuffer(bp)
	if _, err := io.CopyBuffer(h, ctxReader{ctx, r}, *bp); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops a long hash when its request is cancelled (the client
// went away).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}
