package e2e

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestHostileOutOfFiles: a server whose hard limit on open files is low
// runs out of descriptors under a flood of connections. It must stay up
// (accept backs off, nothing crashes) and serve a legitimate user over
// every protocol as soon as the flood ends.
func TestHostileOutOfFiles(t *testing.T) {
	testutil.Need(t, "prlimit")
	raiseOpenFiles(t, 8192)
	const fileLimit = 96
	s := newServer(t, func(c *config.Config) {
		// Admission must not stop the flood first: here the descriptors
		// run out before any budget does.
		c.Limits.MaxPrelogin = 1000
		c.Limits.MaxPreloginPerIP = 1000
		c.Limits.MaxConnectionsPerIP = 1000
	})
	const pw = "out-of-files-legit-pw"
	s.addUser("alice", pw)
	s.wrap = []string{"prlimit", "--nofile=" + strconv.Itoa(fileLimit) + ":" + strconv.Itoa(fileLimit)}
	s.start()
	s.logTail(100)
	ports := []int{s.Cfg.FTP.Port, s.Cfg.FTP.ImplicitPort, s.Cfg.SFTP.Port, s.Cfg.HTTP.HTTPSPort}
	const n = 400
	var flood []net.Conn
	for i := range n {
		c, err := dialFrom(hostileAddr(7, i/4), s.addr(ports[i%4]), time.Second)
		if err != nil {
			continue // the listen backlog is full: that is the point
		}
		flood = append(flood, c)
	}
	time.Sleep(2 * time.Second) // the server spins on EMFILE meanwhile
	peak := s.openFiles()
	if _, exited := s.waitExit(0); exited {
		t.Fatalf("ferry serve died out of descriptors:\n%s", s.Logs())
	}
	if peak > fileLimit+4 { // a small margin: /proc shows one more here than the limit
		t.Fatalf("server holds %d files over its limit %d: the limit was not applied", peak, fileLimit)
	}
	if !s.waitLog("accept failed", 5*time.Second) {
		t.Fatalf("the flood of %d connections never ran the server out of descriptors (it holds %d of %d)", len(flood), peak, fileLimit)
	}
	t.Logf("%d flood connections; server at %d of %d descriptors", len(flood), peak, fileLimit)
	for _, c := range flood {
		c.Close()
	}
	data := testutil.RandomBytes(32<<10, 5)
	for _, scheme := range legitSchemes {
		t.Run(scheme, func(t *testing.T) {
			var err error
			deadline := time.Now().Add(15 * time.Second)
			for time.Now().Before(deadline) {
				// The backlog still holds flood connections the server has
				// to accept and find closed; a few tries may meet it busy.
				if err = s.roundTrip(scheme, "alice", pw, "/after-"+scheme+".bin", data, 5*time.Second); err == nil {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Fatalf("after the flood, %s never served alice again: %v", scheme, err)
		})
	}
}
