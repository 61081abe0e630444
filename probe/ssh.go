package probe

import (
	"context"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// ssh completes the SSH key exchange, reports the host key and, with
// credentials, logs in and opens the SFTP subsystem.
func (p *prober) ssh(ctx context.Context) {
	c, err := p.dial(ctx, p.addr())
	if err != nil {
		p.add("connect", Fail, "%s: %s", p.addr(), explain(err))
		return
	}
	defer c.Close()
	p.add("connect", OK, "connected to %s", c.RemoteAddr())
	var hostKey ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: p.o.User,
		// The probe reports the host key for the administrator to compare;
		// it has no known_hosts to check it against.
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			hostKey = key
			return nil
		},
		Timeout: p.o.Timeout,
	}
	if p.o.User != "" {
		cfg.Auth = []ssh.AuthMethod{ssh.Password(p.o.Password)}
	} else {
		cfg.User = "ferry-check"
	}
	if err := c.SetDeadline(time.Now().Add(p.o.Timeout)); err != nil {
		p.add("SSH", Fail, "%v", err)
		return
	}
	conn, chans, reqs, err := ssh.NewClientConn(c, p.addr(), cfg)
	if hostKey == nil {
		p.add("SSH", Fail, "handshake: %v", err)
		return
	}
	p.add("SSH", OK, "host key %s %s", hostKey.Type(), ssh.FingerprintSHA256(hostKey))
	if p.o.User == "" {
		p.add("login", Skip, "give --user and FERRY_PASSWORD to log in and open SFTP")
		return
	}
	if err != nil {
		p.add("login", Fail, "as %s: %v", p.o.User, err)
		return
	}
	client := ssh.NewClient(conn, chans, reqs)
	defer client.Close()
	p.add("login", OK, "logged in as %s", p.o.User)
	sess, err := client.NewSession()
	if err != nil {
		p.add("SFTP", Fail, "session: %v", err)
		return
	}
	defer sess.Close()
	if err := sess.RequestSubsystem("sftp"); err != nil {
		p.add("SFTP", Fail, "subsystem: %v", err)
		return
	}
	p.add("SFTP", OK, "subsystem started")
}
