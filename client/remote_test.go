package client

import (
	"path"
	"sort"
	"testing"
)

// listRemove checks List and Remove under the remote folder base: a
// folder lists its entries, a file lists itself, and Remove takes a file
// or an empty folder but refuses a full one.
func listRemove(t *testing.T, c Conn, base string) {
	t.Helper()
	dir := path.Join(base, "lr")
	file := path.Join(dir, "f.txt")
	if err := c.Mkdir(dir); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	if err := c.Mkdir(path.Join(dir, "sub")); err != nil {
		t.Fatalf("mkdir: %v", err)
	}
	w, err := c.Create(file, 0)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	w.Write([]byte("hello"))
	if err := w.Close(); err != nil {
		t.Fatalf("create: %v", err)
	}

	es, err := List(c, dir)
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	if err != nil || len(es) != 2 || es[0].Name != "f.txt" || es[0].Size != 5 || es[0].Dir || es[1].Name != "sub" || !es[1].Dir {
		t.Fatalf("List(folder) = %+v, %v", es, err)
	}
	es, err = List(c, file)
	if err != nil || len(es) != 1 || es[0].Size != 5 || es[0].Dir {
		t.Fatalf("List(file) = %+v, %v", es, err)
	}
	// vsftpd lists a missing folder as empty; OpenSSH refuses.
	if es, err := List(c, path.Join(dir, "missing")); len(es) != 0 || err != nil && ExitCode(err) != ExitRemote {
		t.Fatalf("List(missing) = %+v, %v (exit %d), want nothing or a server refusal", es, err, ExitCode(err))
	}

	if err := Remove(c, dir); err == nil {
		t.Fatal("Remove deleted a folder that is not empty")
	}
	if err := Remove(c, path.Join(dir, "missing")); ExitCode(err) != ExitRemote {
		t.Fatalf("Remove(missing) = %v (exit %d), want a server refusal", err, ExitCode(err))
	}
	for _, p := range []string{path.Join(dir, "sub"), file, dir} {
		if err := Remove(c, p); err != nil {
			t.Fatalf("Remove(%s): %v", p, err)
		}
	}
	if _, err := c.Stat(dir); ExitCode(err) != ExitRemote {
		t.Fatalf("stat after Remove: %v (exit %d), want a server refusal", err, ExitCode(err))
	}
}

func TestListRemoveOpenSSH(t *testing.T) {
	s := startSSHD(t, 0, "")
	o := testOptions(t)
	o.Identity = s.Identity
	base := t.TempDir()
	listRemove(t, dial(t, sftpURL(s.Port, base), o), base)
}

func TestListRemoveVsftpd(t *testing.T) {
	v := startVsftpd(t, vsftpdOpts{})
	listRemove(t, dial(t, ftpURL("ftpes", v.Port), testOptions(t)), "")
}
