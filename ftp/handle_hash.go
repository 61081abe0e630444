package ftp

// File hashes: HASH and OPTS HASH (draft-bryan-ftpext-hash-02), and the
// older XMD5, XSHA1 and XSHA256 that some clients still send.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
)

// hashNames are the algorithms of HASH, by the draft's names (its
// section 3.1 registry), in the order FEAT lists them.
var hashNames = []string{"SHA-256", "SHA-1", "MD5"}

// hashFeat is the FEAT line: the names, the session's choice marked "*"
// (draft section 4).
func (s *session) hashFeat() string {
	names := make([]string, len(hashNames))
	for i, n := range hashNames {
		names[i] = n
		if n == s.hashAlgo {
			names[i] += "*"
		}
	}
	return "HASH " + strings.Join(names, ";")
}

// optsHash answers "OPTS HASH [NAME]": the current algorithm, or the
// one chosen (draft section 5).
func (s *session) optsHash(val string) {
	val = strings.TrimSpace(val)
	if val == "" {
		s.reply(200, s.hashAlgo)
		return
	}
	for _, n := range hashNames {
		if strings.EqualFold(val, n) {
			s.hashAlgo = n
			s.reply(200, n)
			return
		}
	}
	s.reply(501, "Unknown hash algorithm: use "+strings.Join(hashNames, ", "))
}

// cmdHASH: "213 ALGO START-END HASH NAME" (draft section 3), the range
// being the whole file: 0 to its size.
func (s *session) cmdHASH(arg string) bool {
	algo := s.hashAlgo
	return s.hash("HASH", arg, algo, func(size int64, sum string) (int, string) {
		return 213, algo + " 0-" + strconv.FormatInt(size, 10) + " " + sum + " " + arg
	})
}

func (s *session) cmdXMD5(arg string) bool    { return s.xhash("XMD5", "MD5", arg) }
func (s *session) cmdXSHA1(arg string) bool   { return s.xhash("XSHA1", "SHA-1", arg) }
func (s *session) cmdXSHA256(arg string) bool { return s.xhash("XSHA256", "SHA-256", arg) }

// xhash answers the older commands as the servers that introduced them
// do (ProFTPD's mod_digest, Serv-U): 250 and the hex digest.
func (s *session) xhash(verb, algo, arg string) bool {
	return s.hash(verb, arg, algo, func(_ int64, sum string) (int, string) { return 250, sum })
}

// hash hashes the file arg names in its own goroutine, like a transfer:
// the session keeps answering NOOP, STAT and ABOR (which stops it), other
// commands wait for the reply, and core.Hash bounds the hashes that run
// at once server-wide, so a large file keeps one core busy at most and
// other sessions are not held up.
func (s *session) hash(verb, arg, algo string, ok func(size int64, sum string) (int, string)) bool {
	p := s.path(arg)
	fi, err := s.fs.Stat(p)
	if err == nil && fi.IsDir() {
		err = vfs.ErrIsDir
	}
	if err != nil {
		s.fsFail(err)
		return true
	}
	x := &transfer{verb: verb, path: p, done: make(chan struct{})}
	x.ctx, x.cancel = context.WithCancel(context.Background())
	s.xmu.Lock()
	s.xfer = x
	s.xmu.Unlock()
	go func() {
		start := time.Now()
		sum, err := core.Hash(x.ctx, s.fs, p, algo, 0, -1)
		var code int
		var msg string
		switch {
		case x.aborted.Load() || errors.Is(err, context.Canceled):
			code, msg = 426, verb+" aborted"
		case err != nil:
			code, msg = s.fsReply(err)
		default:
			code, msg = ok(fi.Size(), sum)
		}
		s.log.Debug("hash", "op", verb, "algorithm", algo, "path", p, "bytes", fi.Size(), "duration", time.Since(start).Round(time.Millisecond).String(), "code", code)
		x.cancel()
		s.reply(code, msg)
		s.xmu.Lock()
		s.xfer = nil
		s.xmu.Unlock()
		close(x.done)
	}()
	return true
}
