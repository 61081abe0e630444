package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSums(t *testing.T) {
	out := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  /a b/it's.txt\n" +
		`\` + "d41d8cd98f00b204e9800998ecf8427e  /x\\\\y\\nz\n" +
		"sha256sum: /gone: No such file or directory\n" +
		"0123456789abcdef0123456789abcdef *bin.dat\n"
	m := parseSums([]byte(out))
	want := map[string]string{
		"/a b/it's.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"/x\\y\nz":      "d41d8cd98f00b204e9800998ecf8427e",
		"bin.dat":       "0123456789abcdef0123456789abcdef",
	}
	if len(m) != len(want) {
		t.Fatalf("parseSums = %q, want %q", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Fatalf("parseSums[%q] = %q, want %q (all: %q)", k, m[k], v, m)
		}
	}
	if got := shellQuote("it's"); got != `'it'\''s'` {
		t.Fatalf("shellQuote = %s", got)
	}
}

func TestReprDigest(t *testing.T) {
	// sha-256 of "" in base64.
	f := "md5=:1B2M2Y8AsgTpgAmY7PhCfg==:, sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
	sum, ok := reprDigest(f, "sha-256")
	if !ok || sum != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Fatalf("reprDigest = %q, %v", sum, ok)
	}
	if _, ok := reprDigest("md5=:1B2M2Y8AsgTpgAmY7PhCfg==:", "sha-256"); ok {
		t.Fatal("reprDigest found sha-256 in a field without it")
	}
	if _, ok := reprDigest("sha-256=:not base64!:", "sha-256"); ok {
		t.Fatal("reprDigest took a malformed value")
	}
}

// sameSizeSameTime rewrites a file with other bytes of the same length
// and gives it back its modification time: only a hash tells.
func sameSizeSameTime(t *testing.T, p string) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	for i := range b {
		b[i] ^= 0x55
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestMirrorChecksumOpenSSH: against OpenSSH, whose shell runs coreutils'
// sha256sum, --checksum finds a file changed without a change of size or
// time (names with a space and a quote included); without it the mirror
// sees nothing to do.
func TestMirrorChecksumOpenSSH(t *testing.T) {
	s := startSSHD(t, 0, "")
	o := testOptions(t)
	o.Identity = s.Identity
	var notes strings.Builder
	o.Notice = &notes
	remote := t.TempDir()
	writeFiles(t, remote, map[string]string{"plain.txt": "plain content", "it's a name.txt": "quoted content", "d/deep.bin": strings.Repeat("x", 100000)})
	local := filepath.Join(t.TempDir(), "down")
	c := dial(t, sftpURL(s.Port, remote), o)
	mirror := func(checksum bool) *Mirror {
		t.Helper()
		m := &Mirror{Checksum: checksum}
		if err := m.Run(&Transfer{Conn: c, Notice: o.Notice}, remote, local); err != nil {
			t.Fatalf("mirror: %v", err)
		}
		return m
	}
	if m := mirror(true); len(m.Actions) != 4 { // d, and three files
		t.Fatalf("first mirror: %v", m.Actions)
	}
	sameSizeSameTime(t, filepath.Join(local, "it's a name.txt"))
	sameSizeSameTime(t, filepath.Join(local, "d", "deep.bin"))
	if m := mirror(false); len(m.Actions) != 0 {
		t.Fatalf("size and time saw a change: %v", m.Actions)
	}
	m := mirror(true)
	if len(m.Actions) != 2 || m.Actions[0].Reason != "checksum" || m.Actions[1].Reason != "checksum" {
		t.Fatalf("--checksum: %v (notes: %s)", m.Actions, notes.String())
	}
	for _, n := range []string{"it's a name.txt", "d/deep.bin"} {
		a, _ := os.ReadFile(filepath.Join(remote, n))
		b, _ := os.ReadFile(filepath.Join(local, n))
		if string(a) != string(b) {
			t.Fatalf("%s not restored", n)
		}
	}
	if m := mirror(true); len(m.Actions) != 0 {
		t.Fatalf("second --checksum mirror: %v", m.Actions)
	}
	if strings.Contains(notes.String(), "checksum") {
		t.Fatalf("unexpected notice: %s", notes.String())
	}
}

// TestMirrorChecksumFallback: vsftpd offers no hash, so --checksum
// compares size and time, and says so.
func TestMirrorChecksumFallback(t *testing.T) {
	v := startVsftpd(t, vsftpdOpts{})
	o := testOptions(t)
	var notes strings.Builder
	o.Notice = &notes
	writeFiles(t, v.Root, map[string]string{"fb/a.txt": "aaaa"})
	os.Chtimes(filepath.Join(v.Root, "fb", "a.txt"), time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	local := filepath.Join(t.TempDir(), "down")
	c := dial(t, ftpURL("ftpes", v.Port), o)
	for i, want := range []int{1, 0} {
		m := &Mirror{Checksum: true}
		if err := m.Run(&Transfer{Conn: c, Notice: o.Notice}, "fb", local); err != nil {
			t.Fatalf("mirror %d: %v", i, err)
		}
		if len(m.Actions) != want {
			t.Fatalf("mirror %d: %v, want %d actions", i, m.Actions, want)
		}
	}
	if !strings.Contains(notes.String(), "offers no file hashes") {
		t.Fatalf("no notice of the fallback: %q", notes.String())
	}
}

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
