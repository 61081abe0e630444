package e2e

// ferry's client against a peer server over the long-distance link:
// OpenSSH's sshd and sftp-server in the server namespace, 25 ms each way.
// A large file and a tree, down and up, byte-exact, in segments and side
// by side as the round trip calls for, and a mirror with --checksum (the
// hashes from coreutils' sha256sum run by sshd's shell).

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

func TestClientWANPeerOpenSSH(t *testing.T) {
	for _, p := range []string{"/usr/sbin/sshd", "/usr/lib/openssh/sftp-server"} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s missing (.ci/run installs openssh-server): %v", p, err)
			}
			t.Skipf("%s missing: %v", p, err)
		}
	}
	testutil.Need(t, "ssh-keygen")
	w := newWAN(t)
	dir := t.TempDir()
	keygen := func(file string) {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", file).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	hostKey, id := filepath.Join(dir, "host"), filepath.Join(dir, "id")
	keygen(hostKey)
	keygen(id)
	pub, _ := os.ReadFile(id + ".pub")
	auth := filepath.Join(dir, "authorized_keys")
	os.WriteFile(auth, pub, 0o600)
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(strings.Join([]string{
		"ListenAddress " + wanServerAddr, "HostKey " + hostKey, "PidFile none",
		"AuthorizedKeysFile " + auth, "StrictModes no", "UsePAM no",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
		"Subsystem sftp /usr/lib/openssh/sftp-server",
	}, "\n")+"\n"), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	var logs bytes.Buffer
	sshd := exec.Command("ip", "netns", "exec", w.server, "/usr/sbin/sshd", "-D", "-e", "-f", cfg, "-p", "22")
	sshd.Stdout, sshd.Stderr = &logs, &logs
	if err := sshd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sshd.Process.Kill(); sshd.Wait() })

	root := t.TempDir() // the server's files: the namespaces share the file system
	big := testutil.RandomBytes(32<<20+321, 71)
	os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "big.bin"), big, 0o644)
	tree := filepath.Join(src, "tree")
	var files []string
	for i := range 40 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%02d.bin", i))
		os.MkdirAll(filepath.Join(tree, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(tree, rel), testutil.RandomBytes(2000+i*1531, uint64(100+i)), 0o644)
		files = append(files, rel)
	}

	c := w.clientIn(t, "not-used-key-login")
	c.extraArgs = []string{"--identity", id, "--timeout", "90s"}
	base := "sftp://root@" + wanServerAddr + root
	deadline := time.Now().Add(90 * time.Second) // sshd forks sftp-server per session: slow on a loaded machine
	for {
		if _, _, code := c.run("ls", base+"/"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sshd does not answer:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}

	dst := t.TempDir()
	sum := c.summary("get", base+"/big.bin", filepath.Join(dst, "big.bin"))
	sameFile(t, filepath.Join(dst, "big.bin"), big)
	if sum.Files[0].Segments < 2 {
		t.Errorf("a 32 MiB download at 50 ms went in %d segments", sum.Files[0].Segments)
	}
	sum = c.summary("put", filepath.Join(src, "big.bin"), base+"/up.bin")
	sameFile(t, filepath.Join(root, "up.bin"), big)
	if sum.Files[0].Segments < 2 {
		t.Errorf("a 32 MiB upload at 50 ms went in %d segments", sum.Files[0].Segments)
	}

	c.ok("put", "-r", tree, base+"/tree")
	c.ok("get", "-r", base+"/tree", filepath.Join(dst, "tree"))
	for _, rel := range files {
		want, _ := os.ReadFile(filepath.Join(tree, rel))
		sameFile(t, filepath.Join(root, "tree", rel), want)
		sameFile(t, filepath.Join(dst, "tree", rel), want)
	}

	// Mirror down with --checksum: a file changed on the server without a
	// change of size or time is found by sshd's sha256sum alone.
	m := filepath.Join(dst, "mirror")
	if s := c.mirror(base+"/tree", m, "--checksum"); len(s.Files) != len(files) {
		t.Fatalf("first mirror: %d files, want %d", len(s.Files), len(files))
	}
	changed := filepath.Join(root, "tree", files[7])
	fi, _ := os.Stat(changed)
	b, _ := os.ReadFile(changed)
	b[10] ^= 0xff
	os.WriteFile(changed, b, 0o644)
	os.Chtimes(changed, fi.ModTime(), fi.ModTime())
	if s := c.mirror(base+"/tree", m); len(s.Actions) != 0 {
		t.Fatalf("size and time saw the change: %+v", s)
	}
	if s := c.mirror(base+"/tree", m, "--checksum"); len(s.Files) != 1 || s.Actions[0].Reason != "checksum" {
		t.Fatalf("mirror --checksum: %+v", s)
	}
	sameFile(t, filepath.Join(m, files[7]), b)
}
