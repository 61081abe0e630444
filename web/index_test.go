package web

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-project/ferry/internal/testserver"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestHTMLIndexWithWget: wget -r copies a folder through the HTML index
// under /dav/; the REST API gives the index for Accept: text/html and
// JSON otherwise; names are escaped.
func TestHTMLIndexWithWget(t *testing.T) {
	testutil.Need(t, "wget")
	ts := startServer(t, nil)
	home := ts.addUser("alice", false)
	files := writeTree(t, filepath.Join(home, "tree"), 40)
	if err := os.WriteFile(filepath.Join(home, `<b>&"x.txt`), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command("wget", "-q", "-r", "-np", "-nH", "--cut-dirs=2", "-e", "robots=off", "--no-check-certificate",
		"--user", "alice", "--password", testserver.Password, "-P", out, ts.base+"/dav/tree/")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wget -r: %v\n%s", err, b)
	}
	// wget keeps each folder's index as index.html: drop them, then the
	// tree must be the files.
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "index.html" {
			os.Remove(p)
		}
		return nil
	})
	sameTree(t, out, files)

	c := ts.client()
	resp, body := ts.do(c, "GET", "/api/v1/files/", "alice", nil, "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	expect(t, "HTML index", resp, body, http.StatusOK)
	if !strings.Contains(body, `<a href="./%3Cb%3E&amp;%22x.txt">&lt;b&gt;&amp;&#34;x.txt</a>`) || !strings.Contains(body, `<a href="./tree/">tree/</a>`) {
		t.Errorf("HTML index:\n%s", body)
	}
	resp, body = ts.do(c, "GET", "/api/v1/files/", "alice", nil)
	if expect(t, "JSON listing", resp, body, http.StatusOK); !strings.HasPrefix(body, `{"path":"/"`) {
		t.Errorf("listing without Accept: %q", body[:min(len(body), 80)])
	}
	resp, body = ts.do(c, "GET", "/dav/tree", "alice", nil)
	expect(t, "folder without its slash", resp, body, http.StatusMovedPermanently)
}
