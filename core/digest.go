package core

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// Digest is the SHA-256 of a file computed as its bytes pass through a
// transfer, for the audit log. It takes the bytes at their offsets and
// gives up when they do not follow each other from offset 0, so Sum
// answers only for a file that passed whole and in order. The zero value
// is ready; a nil *Digest ignores everything (digests off).
type Digest struct {
	h    hash.Hash
	next int64 // the offset the next bytes must have; -1 once given up
}

// At adds p, the bytes found at offset off.
func (d *Digest) At(off int64, p []byte) {
	if d == nil || d.next < 0 || len(p) == 0 {
		return
	}
	if off != d.next {
		d.next = -1
		return
	}
	if d.h == nil {
		d.h = sha256.New()
	}
	d.h.Write(p)
	d.next += int64(len(p))
}

// Restart begins again at offset 0.
func (d *Digest) Restart() {
	if d != nil {
		d.h, d.next = nil, 0
	}
}

// Sum is the hex digest when exactly the first size bytes passed, in
// order (the whole file when size is its length), else "".
func (d *Digest) Sum(size int64) string {
	if d == nil || d.next != size {
		return ""
	}
	if d.h == nil {
		d.h = sha256.New() // an empty file
	}
	return hex.EncodeToString(d.h.Sum(nil))
}
