package e2e

// The client over a long-distance link (25 ms each way, 1 Gbit/s): a large
// file and a tree of small files down and up over FTPS, SFTP and HTTPS,
// byte-exact, with the segments and parallel files the round trip calls
// for; and a segmented download cut in the middle, then continued with -c.
// Speed is bench/wan.sh's business, not this test's.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

func TestClientWAN(t *testing.T) {
	w := newWAN(t)
	s := w.serve(nil)
	const pw = "client-wan-pw"
	home := s.addUser("gina", pw)
	big := testutil.RandomBytes(48<<20+123, 51)
	if err := os.WriteFile(filepath.Join(home, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "big.bin"), big, 0o644)
	tree := filepath.Join(src, "tree")
	var treeFiles []string
	for i := range 24 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%4), fmt.Sprintf("f%02d.bin", i))
		os.MkdirAll(filepath.Join(tree, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(tree, rel), testutil.RandomBytes(1000+i*997, uint64(i)), 0o644)
		treeFiles = append(treeFiles, rel)
	}
	for _, sc := range []struct {
		scheme string
		port   int
		cut    syscall.Signal // how the segmented download is stopped
	}{{"ftps", s.Cfg.FTP.ImplicitPort, syscall.SIGINT}, {"sftp", s.Cfg.SFTP.Port, syscall.SIGKILL}, {"https", s.Cfg.HTTP.HTTPSPort, syscall.SIGINT}} {
		t.Run(sc.scheme, func(t *testing.T) {
			t.Parallel()
			c := w.clientIn(t, pw)
			base := fmt.Sprintf("%s://gina@%s:%d", sc.scheme, wanServerAddr, sc.port)
			dst := t.TempDir()

			sum := c.summary("get", base+"/big.bin", filepath.Join(dst, "big.bin"))
			sameFile(t, filepath.Join(dst, "big.bin"), big)
			if sum.Files[0].Segments < 2 {
				t.Errorf("a 48 MiB download at 50 ms went in %d segments", sum.Files[0].Segments)
			}
			up := sc.scheme + "-up.bin"
			sum = c.summary("put", filepath.Join(src, "big.bin"), base+"/"+up)
			sameFile(t, filepath.Join(home, up), big)
			if sc.scheme == "sftp" && sum.Files[0].Segments < 2 {
				t.Errorf("a 48 MiB SFTP upload at 50 ms went in %d segments", sum.Files[0].Segments)
			}

			c.ok("put", "-r", tree, base+"/"+sc.scheme+"-tree")
			c.ok("get", "-r", base+"/"+sc.scheme+"-tree", filepath.Join(dst, "tree"))
			for _, rel := range treeFiles {
				want, _ := os.ReadFile(filepath.Join(tree, rel))
				sameFile(t, filepath.Join(home, sc.scheme+"-tree", rel), want)
				sameFile(t, filepath.Join(dst, "tree", rel), want)
			}

			wanResume(t, c, base+"/big.bin", filepath.Join(dst, "cut.bin"), big, sc.cut)
		})
	}
}

// wanResume starts a download in 4 segments, stops the client with sig
// once about a quarter has arrived (SIGKILL: nothing saved at the end;
// SIGINT: a clean stop, exit status 8), and continues it with -c: every
// segment goes on from where its record says, and the result is
// byte-exact.
func wanResume(t *testing.T, c *ferryClient, url, local string, want []byte, sig syscall.Signal) {
	argv := append(append([]string{}, c.wrap...), ferryBin, "get", "--segments", "4", url, local)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "HOME="+c.home, "XDG_CONFIG_HOME="+filepath.Join(c.home, ".config"), "FERRY_PASSWORD="+c.password, "SSH_AUTH_SOCK=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	state := local + ".part.segments"
	deadline := time.Now().Add(60 * time.Second)
	for {
		if done := savedBytes(state); done > int64(len(want))/4 {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatalf("the segmented download never got a quarter through:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	syscall.Kill(-cmd.Process.Pid, sig)
	stopped := make(chan error, 1)
	go func() { stopped <- cmd.Wait() }()
	select {
	case err := <-stopped:
		if sig == syscall.SIGINT {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 8 {
				t.Fatalf("interrupted download: %v, want exit status 8:\n%s", err, out.String())
			}
		}
	case <-time.After(10 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-stopped
		t.Fatalf("the client did not stop within 10 s of %v:\n%s", sig, out.String())
	}
	saved := savedBytes(state)
	if _, err := os.Stat(local); err == nil {
		t.Fatal("the download finished before it could be cut: nothing to resume")
	}
	sum := c.summary("get", "-c", url, local)
	f := sum.Files[0]
	if f.ResumedFrom < saved || f.ResumedFrom == 0 || f.ResumedFrom+f.Transferred != int64(len(want)) {
		t.Fatalf("resumed segmented download: %+v; the record held %d bytes", f, saved)
	}
	sameFile(t, local, want)
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("the segment record outlived the download: %v", err)
	}
}

// savedBytes sums the bytes a segment record says are in place.
func savedBytes(file string) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	var st struct {
		Segments []struct{ Done int64 } `json:"segments"`
	}
	if json.Unmarshal(b, &st) != nil {
		return 0
	}
	var n int64
	for _, s := range st.Segments {
		n += s.Done
	}
	return n
}
