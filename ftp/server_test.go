package ftp

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/vfs"
)

func TestLoginNeedsTLS(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	r := c.do("USER alice", 530)
	if !strings.Contains(r.Text(), "AUTH TLS") {
		t.Errorf("530 does not say why: %s", r.Text())
	}
	c.do("PASS x", 503)
	c.do("PWD", 530)
	c.do("PBSZ 0", 503)
	c.secure(clientTLS(0))
	c.do("USER alice", 331)
	c.do("PASS wrong", 530)
	c.login("alice")
	c.do("PWD", 257)
	if strings.Contains(e.Logs.String(), testserver.Password) || strings.Contains(e.Logs.String(), "wrong") {
		t.Fatalf("a password reached the log:\n%s", e.Logs)
	}
	if !e.waitLog("login failed") || !e.waitLog("msg=login") {
		t.Fatalf("login events not logged:\n%s", e.Logs)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, v := range []struct {
		name string
		max  uint16
	}{{"TLS1.2", tls.VersionTLS12}, {"TLS1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.dial()
			c.secure(clientTLS(v.max))
			c.login("alice")
			c.do("PBSZ 0", 200)
			c.do("PROT P", 200)
			c.do("TYPE I", 200)
			for _, tc := range []struct {
				name string
				data []byte
			}{{"big.bin", randBytes(1 << 20)}, {"empty", nil}, {"grüße €.txt", []byte("utf-8\n")}} {
				c.stor("STOR", tc.name, tc.data)
				onDisk, err := os.ReadFile(filepath.Join(e.home, tc.name))
				if err != nil || !bytes.Equal(onDisk, tc.data) {
					t.Fatalf("%s on disk: %d bytes, %v", tc.name, len(onDisk), err)
				}
				if got := c.retr(tc.name); !bytes.Equal(got, tc.data) {
					t.Fatalf("%s: RETR gave %d bytes, want %d", tc.name, len(got), len(tc.data))
				}
			}
			ls := c.list("LIST -la")
			if !strings.Contains(ls, " 1048576 ") || !strings.Contains(ls, "grüße €.txt\r\n") || !strings.HasPrefix(ls, "-rw-r--r--") || strings.Contains(ls, vfs.TempDir) {
				t.Errorf("LIST:\n%s", ls)
			}
			// Listings come in directory order, not sorted.
			nl := strings.Split(strings.TrimSuffix(c.list("NLST"), "\r\n"), "\r\n")
			if slices.Sort(nl); !slices.Equal(nl, []string{"big.bin", "empty", "grüße €.txt"}) {
				t.Errorf("NLST = %q", nl)
			}
			if ml := c.list("MLSD"); !strings.Contains(ml, "type=file;size=1048576;modify=") || !strings.Contains(ml, "perm=radfw;UNIX.mode=0644; big.bin\r\n") {
				t.Errorf("MLSD:\n%s", ml)
			}
			if !e.waitLog("event=download path=/big.bin bytes=1048576 duration=") {
				t.Errorf("transfer not logged:\n%s", e.Logs)
			}
		})
	}
}
