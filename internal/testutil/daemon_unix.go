//go:build unix

package testutil

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// StartDaemon starts cmd (a peer server run in the foreground) in a
// process group of its own and stops it when the test ends: SIGTERM,
// so that a master process stops its workers (SIGKILL would orphan
// them), and after 5 s SIGKILL to the whole group.
func StartDaemon(t testing.TB, cmd *exec.Cmd) {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
}
