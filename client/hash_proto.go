package client

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ferry-project/ferry/client/ftpc"
	"golang.org/x/crypto/ssh"
)

// How each protocol offers hashes (hasher):
//   - SFTP: an exec of "sha256sum PATH..." (ferry answers it without a
//     shell, as rclone expects; an OpenSSH server with a shell runs
//     coreutils), several files per command;
//   - FTP: HASH after OPTS HASH (draft-bryan-ftpext-hash), else XSHA256,
//     XSHA1 or XMD5, one file per command;
//   - HTTP: HEAD with Want-Repr-Digest, answered by Repr-Digest (RFC 9530).

// sftpHashCommands are tried in this order until the server runs one.
var sftpHashCommands = []struct{ cmd, algo string }{{"sha256sum", "sha256"}, {"sha1sum", "sha1"}, {"md5sum", "md5"}}

func (s *sftpConn) hashFiles(ps []string) (string, []string, error) {
	for i, hc := range sftpHashCommands {
		if k := int(s.hashCmd.Load()); k >= 0 && k != i {
			continue
		}
		sums, ran, err := s.execHash(hc.cmd, ps)
		if err != nil {
			return "", nil, err
		}
		if ran {
			s.hashCmd.Store(int32(i))
			return hc.algo, sums, nil
		}
	}
	return "", nil, errNoHash
}

// execHash runs one hash command over ps on a session channel of its
// own; ran is false when the server would not run it (the exec request
// refused, or the command not found: exit 126 or 127).
func (s *sftpConn) execHash(cmd string, ps []string) (sums []string, ran bool, err error) {
	ch, reqs, err := s.ssh.OpenChannel("session", nil)
	var oce *ssh.OpenChannelError
	if errors.As(err, &oce) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, sftpErr(cmd, ps[0], err)
	}
	defer ch.Close()
	status := make(chan uint32, 1)
	go func() {
		defer close(status)
		for r := range reqs {
			if r.Type == "exit-status" && len(r.Payload) >= 4 {
				select {
				case status <- binary.BigEndian.Uint32(r.Payload):
				default:
				}
			}
			if r.WantReply {
				r.Reply(false, nil)
			}
		}
	}()
	line := cmd
	for _, p := range ps {
		line += " " + shellQuote(p)
	}
	ok, err := ch.SendRequest("exec", true, ssh.Marshal(struct{ Command string }{line}))
	if err != nil {
		return nil, false, sftpErr(cmd, ps[0], err)
	}
	if !ok {
		return nil, false, nil
	}
	ch.CloseWrite()
	go io.Copy(io.Discard, ch.Stderr())
	var out bytes.Buffer
	if _, err := io.Copy(&out, io.LimitReader(ch, int64(len(ps))*(256+int64(len(line))))); err != nil {
		return nil, false, sftpErr(cmd, ps[0], err)
	}
	ch.Close()
	select {
	case code, ok := <-status:
		if ok && (code == 126 || code == 127) {
			return nil, false, nil
		}
	case <-time.After(s.o.timeout()):
	}
	byName := parseSums(out.Bytes())
	sums = make([]string, len(ps))
	for i, p := range ps {
		sums[i] = byName[p]
	}
	return sums, true, nil
}

// shellQuote quotes a word for a POSIX shell (and ferry's exec parser).
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// parseSums reads the output of coreutils' sha256sum and its siblings:
// "HEX  NAME" lines; a line that starts with a backslash has "\\" and
// "\n" escapes in NAME.
func parseSums(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		escaped := strings.HasPrefix(l, `\`)
		if escaped {
			l = l[1:]
		}
		sum, name, ok := strings.Cut(l, "  ")
		if !ok {
			sum, name, ok = strings.Cut(l, " *") // binary mode
		}
		if !ok || !isHex(sum) {
			continue
		}
		if escaped {
			name = strings.NewReplacer(`\\`, `\`, `\n`, "\n").Replace(name)
		}
		m[name] = strings.ToLower(sum)
	}
	return m
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil && len(s) >= 32
}

// ftpHashAlgos maps the names of HASH (and the X commands) to ours.
var ftpHashAlgos = map[string]string{"SHA-256": "sha256", "SHA-1": "sha1", "MD5": "md5"}

func (f *ftpConn) hashFiles(ps []string) (string, []string, error) {
	sums := make([]string, len(ps))
	var algo string
	for i, p := range ps {
		name, sum, err := f.c.Hash(p)
		switch {
		case errors.Is(err, ftpc.ErrUnsupported):
			return "", nil, errNoHash
		case ftpc.Code(err) >= 500 || ftpc.Code(err) == 450:
			continue // this file: not hashed
		case err != nil:
			return "", nil, ftpErr(ErrConnect, err)
		}
		if a, ok := ftpHashAlgos[name]; ok && isHex(sum) {
			algo, sums[i] = a, strings.ToLower(sum)
		}
	}
	if algo == "" {
		algo = "sha256"
		if name := f.c.HashAlgo(); ftpHashAlgos[name] != "" {
			algo = ftpHashAlgos[name]
		}
	}
	return algo, sums, nil
}

func (c *httpConn) hashFiles(ps []string) (string, []string, error) {
	sums := make([]string, len(ps))
	for i, p := range ps {
		resp, err := c.do(http.MethodHead, p, nil, nil, "Want-Repr-Digest", "sha-256=10")
		if errors.Is(err, ErrRemote) {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		resp.Body.Close()
		sum, ok := reprDigest(resp.Header.Get("Repr-Digest"), "sha-256")
		if !ok {
			return "", nil, errNoHash
		}
		sums[i] = sum
	}
	return "sha256", sums, nil
}

// reprDigest finds algo's digest in a Repr-Digest field (RFC 9530: a
// dictionary of byte sequences, "sha-256=:BASE64:") as hex.
func reprDigest(field, algo string) (string, bool) {
	for item := range strings.SplitSeq(field, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || !strings.EqualFold(k, algo) || len(v) < 2 || v[0] != ':' || v[len(v)-1] != ':' {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
		if err != nil {
			return "", false
		}
		return hex.EncodeToString(b), true
	}
	return "", false
}
