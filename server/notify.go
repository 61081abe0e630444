package server

import (
	"net"
	"os"
)

// notifyReady tells systemd that the server serves (sd_notify "READY=1",
// for Type=notify units), so that `systemctl start` returns only once
// every port is bound. Outside systemd, NOTIFY_SOCKET is unset and this
// does nothing.
func notifyReady() error {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return nil
	}
	if addr[0] == '@' { // an abstract socket (Linux)
		addr = "\x00" + addr[1:]
	}
	c, err := net.Dial("unixgram", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte("READY=1"))
	return err
}
