package sftp

import (
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// TestRefusePrintedByOpenSSH: a connection refused at admission gets the
// reason as a cleartext disconnect message, which plain ssh and sftp (no
// -v, LogLevel ERROR even) print; the refusal costs one write and at most
// refuseLinger of reading, and no key exchange.
func TestRefusePrintedByOpenSSH(t *testing.T) {
	testutil.Need(t, "ssh", "sftp")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const reason = "your address is banned until 2030-01-02T03:04:05Z"
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			refuse(nc, errors.New(reason))
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	opts := []string{"-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"}
	for _, cmd := range [][]string{
		append(append([]string{"ssh"}, opts...), "-p", port, "alice@127.0.0.1", "true"),
		append(append([]string{"sftp"}, opts...), "-P", port, "alice@127.0.0.1"),
	} {
		start := time.Now()
		out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
		if err == nil {
			t.Fatalf("%s succeeded against a refusal", cmd[0])
		}
		if !strings.Contains(string(out), "Received disconnect from 127.0.0.1 port "+port) || !strings.Contains(string(out), "ferry: "+reason) {
			t.Errorf("%s does not print the refusal:\n%s", cmd[0], out)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %v to be refused", cmd[0], d)
		}
	}
}
