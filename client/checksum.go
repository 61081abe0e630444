package client

// File hashes for mirror --checksum: the server's, asked the way each
// protocol offers them, and this machine's, computed here.

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"sync"
)

// hasher asks the server for the hashes of files.
type hasher interface {
	// hashFiles returns the algorithm (sha256, sha1 or md5) and the hex
	// digest of each of ps, in order; "" for a file the server could not
	// hash. errNoHash: the server offers no hashes at all.
	hashFiles(ps []string) (algo string, sums []string, err error)
}

// errNoHash: the server offers no file hashes.
var errNoHash = errors.New("the server offers no file hashes")

// newHash makes a hash of one of the algorithms hashFiles names.
func newHash(algo string) (hash.Hash, error) {
	switch algo {
	case "sha256":
		return sha256.New(), nil
	case "sha1":
		return sha1.New(), nil
	case "md5":
		return md5.New(), nil
	}
	return nil, fmt.Errorf("unknown hash algorithm %q", algo)
}

// hashLocal is the hex digest of a local file.
func hashLocal(algo, p string) (string, error) {
	h, err := newHash(algo)
	if err != nil {
		return "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashPair is a file present on both sides with the same size.
type hashPair struct {
	rel, local, remote string
}

// compareHashes tells which pairs differ in content: differ[rel] is true
// when the hashes differ, false when they match; a pair missing from the
// map could not be hashed on one side. ok is false when the server offers
// no hashes (nothing was compared).
func compareHashes(pool *Pool, pairs []hashPair) (differ map[string]bool, ok bool, err error) {
	differ = map[string]bool{}
	if len(pairs) == 0 {
		return differ, true, nil
	}
	// Ask one file first: it tells whether the server offers hashes, and
	// by which algorithm, before the rest go out side by side.
	algo, first, err := remoteHashes(pool, pairs[:1])
	if errors.Is(err, errNoHash) {
		return differ, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	remote := make([]string, len(pairs))
	remote[0] = first[0]
	local := make([]string, len(pairs))
	var lerr error
	var lwg sync.WaitGroup
	lwg.Add(1)
	go func() { // this machine hashes while the server does
		defer lwg.Done()
		lerr = hashLocals(algo, pairs, local)
	}()
	rest := pairs[1:]
	workers := max(1, pool.Shares())
	batch := max(1, min(64, (len(rest)+workers-1)/workers))
	var mu sync.Mutex
	var rerr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for i := 0; i < len(rest); i += batch {
		part := rest[i:min(len(rest), i+batch)]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, sums, err := remoteHashes(pool, part)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if rerr == nil {
					rerr = err
				}
				return
			}
			copy(remote[1+i:], sums)
		}()
	}
	wg.Wait()
	lwg.Wait()
	if rerr != nil {
		return nil, false, rerr
	}
	if lerr != nil {
		return nil, false, withKind(ErrLocal, lerr)
	}
	for i, p := range pairs {
		if remote[i] != "" && local[i] != "" {
			differ[p.rel] = remote[i] != local[i]
		}
	}
	return differ, true, nil
}

// remoteHashes asks the server over one pooled connection.
func remoteHashes(pool *Pool, pairs []hashPair) (string, []string, error) {
	c, err := pool.Get()
	if err != nil {
		return "", nil, err
	}
	h, ok := c.(hasher)
	if !ok {
		pool.Put(c)
		return "", nil, errNoHash
	}
	ps := make([]string, len(pairs))
	for i, p := range pairs {
		ps[i] = p.remote
	}
	algo, sums, err := h.hashFiles(ps)
	pool.release(c, err)
	if err == nil && len(sums) != len(ps) {
		err = fmt.Errorf("the server answered %d hashes for %d files", len(sums), len(ps))
	}
	return algo, sums, err
}

// hashLocals hashes the local files of pairs into sums, a few at once.
func hashLocals(algo string, pairs []hashPair, sums []string) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, max(1, runtime.NumCPU()))
	for i, p := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			s, err := hashLocal(algo, p.local)
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				return
			}
			sums[i] = s
		}()
	}
	wg.Wait()
	return first
}
