package e2e

// The client against a server that takes fewer connections from its
// address than the client would open: every file of a tree arrives,
// whether the server refuses the extra connections at login (FTP, SFTP)
// or cuts them after the fact (HTTP reconnects lazily), and the client
// says it goes on with fewer.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

func TestClientConnectionLimit(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.Limits.MaxConnectionsPerIP = 3 })
	const pw = "client-limit-pw"
	home := s.addUser("lima", pw)
	s.start()
	tree := filepath.Join(home, "tree")
	want := map[string][]byte{}
	for i := range 40 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%02d.bin", i))
		want[rel] = testutil.RandomBytes(2000+i*613, uint64(i+700))
		os.MkdirAll(filepath.Join(tree, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(tree, rel), want[rel], 0o644)
	}
	for _, sc := range []struct {
		scheme string
		port   int
	}{{"ftps", s.Cfg.FTP.ImplicitPort}, {"sftp", s.Cfg.SFTP.Port}, {"https", s.Cfg.HTTP.HTTPSPort}} {
		t.Run(sc.scheme, func(t *testing.T) {
			c := newFerryClient(t, pw)
			base := fmt.Sprintf("%s://lima@%s", sc.scheme, s.addr(sc.port))
			dst := filepath.Join(t.TempDir(), "tree")
			notes := c.ok("get", "-r", "--parallel", "16", "--insecure", base+"/tree", dst)
			up := sc.scheme + "-up"
			notes += c.ok("put", "-r", "--parallel", "16", "--insecure", dst, base+"/"+up)
			for rel, b := range want {
				sameFile(t, filepath.Join(dst, rel), b)
				sameFile(t, filepath.Join(home, up, rel), b)
			}
			if !strings.Contains(notes, "going on with") {
				t.Fatalf("no notice that the client went on with fewer connections:\n%s", notes)
			}
		})
	}
}
