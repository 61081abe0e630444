package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/listen"
)

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: not JSON: %q", path, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func rec(kind string) *core.Record {
	return &core.Record{Time: time.Date(2026, 12, 1, 13, 0, 0, 5e6, time.FixedZone("x", 3600)), Kind: kind, Session: 7,
		Service: listen.SFTP, Remote: netip.MustParseAddrPort("[2001:db8::1]:5555"), User: "alice"}
}

// TestLine: one record is one JSON line with the time in UTC, bytes and
// duration on transfers even when 0, and nothing empty.
func TestLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "audit.jsonl")
	l, err := Open(path, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	up := rec(core.EventUpload)
	up.Path, up.Result, up.SHA256 = "/f", "ok", "e3b0"
	mv := rec(core.EventRename)
	mv.Path, mv.Target, mv.Result = "/a", "/b", "ok"
	l.Record(up)
	l.Record(mv)
	l.Close()
	l.Record(up) // after Close: dropped
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	want := `{"time":"2026-12-01T12:00:00.005Z","event":"upload","session":7,"protocol":"sftp","remote":"[2001:db8::1]:5555","user":"alice","path":"/f","bytes":0,"duration_ms":0,"result":"ok","sha256":"e3b0"}
{"time":"2026-12-01T12:00:00.005Z","event":"rename","session":7,"protocol":"sftp","remote":"[2001:db8::1]:5555","user":"alice","path":"/a","target":"/b","result":"ok"}
`
	if string(b) != want {
		t.Errorf("audit log:\n%s\nwant:\n%s", b, want)
	}
}

// TestRotation: past the size the file is rotated, keep files are kept
// and no line is lost among the ones kept; Reopen follows a rename.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	const keep = 3
	var failures []error
	l, err := Open(path, 1000, keep, func(err error) { failures = append(failures, err) })
	if err != nil {
		t.Fatal(err)
	}
	const records = 200
	for i := range records {
		r := rec(core.EventMkdir)
		r.Session = uint64(i)
		l.Record(r)
	}
	if len(failures) > 0 {
		t.Fatal(failures)
	}
	names, _ := filepath.Glob(path + "*")
	if len(names) != keep+1 {
		t.Fatalf("files %v, want the log and %d rotated", names, keep)
	}
	if _, err := os.Stat(path + ".4"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s.4 exists", path)
	}
	next := uint64(records - 1)
	for _, name := range []string{path, path + ".1", path + ".2", path + ".3"} {
		st, _ := os.Stat(name)
		if st.Size() > 1000 {
			t.Errorf("%s: %d bytes, more than the limit", name, st.Size())
		}
		lines := readLines(t, name)
		for i := len(lines) - 1; i >= 0; i-- {
			if got := uint64(lines[i]["session"].(float64)); got != next {
				t.Fatalf("%s line %d: session %d, want %d (lines lost or out of order)", name, i, got, next)
			}
			next--
		}
	}
	// logrotate: rename, then SIGHUP makes the server reopen.
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Record(rec(core.EventRmdir))
	l.Close()
	if lines := readLines(t, path); len(lines) != 1 || !strings.Contains(lines[0]["event"].(string), "rmdir") {
		t.Errorf("after Reopen: %v", lines)
	}
}
