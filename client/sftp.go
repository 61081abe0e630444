package client

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sftpConn is a Conn over SFTP.
type sftpConn struct {
	ssh    *ssh.Client // link.c
	link   *sshLink
	fam    *sftpFamily
	c      *sftp.Client
	t      Target
	o      *Options
	limits sftpLimits
	dialRT time.Duration
	closed atomic.Bool
	// hashCmd is the index in sftpHashCommands of the command the
	// server runs (-1: not tried yet).
	hashCmd atomic.Int32
}

func dialSFTP(t Target, o *Options) (Conn, error) {
	s, err := dialSFTPWith(t, o, nil, &sftpFamily{})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// dialSFTPWith dials a new link of fam; known are the limits a first
// connection learnt, so that its clones need not ask again.
func dialSFTPWith(t Target, o *Options, known *sftpLimits, fam *sftpFamily) (*sftpConn, error) {
	name := t.User
	if o.User != "" {
		name = o.User
	}
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	auths, closeAgent, err := o.sshAuth(t, name)
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	hostKey, algos, err := o.hostKeyCallback(t)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:              name,
		Auth:              auths,
		HostKeyCallback:   hostKey,
		HostKeyAlgorithms: algos,
		Timeout:           o.timeout(),
	}
	l := fam.pending()
	sc, rt, err := sshDial(t.Addr(), cfg)
	fam.up(l, sc, rt)
	if err != nil {
		switch {
		case errors.Is(err, ErrTrust), errors.Is(err, ErrAuth):
			return nil, err
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, withKind(ErrAuth, fmt.Errorf("sftp: login as %s at %s refused: %w", name, t.Addr(), err))
		}
		return nil, withKind(ErrConnect, fmt.Errorf("sftp: %s: %w", t.Addr(), err))
	}
	c, lim, err := startSFTP(sc, known, o.timeout())
	if err != nil {
		fam.release(l)
		return nil, withKind(ErrConnect, fmt.Errorf("sftp: starting the sftp subsystem on %s: %w", t.Addr(), err))
	}
	return newSFTPConn(l, fam, c, t, o, lim), nil
}

func newSFTPConn(l *sshLink, fam *sftpFamily, c *sftp.Client, t Target, o *Options, lim sftpLimits) *sftpConn {
	s := &sftpConn{ssh: l.c, link: l, fam: fam, c: c, t: t, o: o, limits: lim, dialRT: l.rt}
	s.hashCmd.Store(-1)
	return s
}

// clone opens another SFTP session: on a channel of a link with room
// (one round trip, no login), else on a new connection.
func (s *sftpConn) clone() (Conn, error) {
	lim := s.limits
	if l := s.fam.reserve(); l != nil {
		c, _, err := startSFTP(l.c, &lim, s.o.timeout())
		if err == nil {
			return newSFTPConn(l, s.fam, c, s.t, s.o, lim), nil
		}
		s.fam.release(l)
	}
	c, err := dialSFTPWith(s.t, s.o, &lim, s.fam)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// sshDial connects and completes the SSH handshake within cfg.Timeout;
// ssh.Dial bounds only the TCP connect, and a silent server would hang it.
// It also returns the TCP connect time, one round trip.
func sshDial(addr string, cfg *ssh.ClientConfig) (*ssh.Client, time.Duration, error) {
	start := time.Now()
	nc, err := net.DialTimeout("tcp", addr, cfg.Timeout)
	if err != nil {
		return nil, 0, err
	}
	rt := time.Since(start)
	nc.SetDeadline(time.Now().Add(cfg.Timeout))
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, 0, err
	}
	nc.SetDeadline(time.Time{})
	return ssh.NewClient(conn, chans, reqs), rt, nil
}

// sshAuth lists the authentication methods in the order OpenSSH tries
// them: the identity file, the agent, then password and keyboard-
// interactive. The returned func closes the agent connection.
func (o *Options) sshAuth(t Target, name string) ([]ssh.AuthMethod, func(), error) {
	var auths []ssh.AuthMethod
	done := func() {}
	if o.Identity != "" {
		signer, err := o.loadIdentity()
		if err != nil {
			return nil, nil, err
		}
		auths = append(auths, ssh.PublicKeys(signer))
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" {
		if ac, err := net.Dial("unix", sock); err == nil {
			auths = append(auths, ssh.PublicKeysCallback(agent.NewClient(ac).Signers))
			done = func() { ac.Close() }
		}
	}
	password := func() (string, error) {
		if t.HasPass {
			return t.Password, nil
		}
		if o.Password != "" {
			return o.Password, nil
		}
		if o.Prompt == nil {
			return "", withKind(ErrAuth, errors.New("no password: set FERRY_PASSWORD or run on a terminal"))
		}
		p, err := o.Prompt(fmt.Sprintf("password for %s@%s: ", name, t.Host))
		if err != nil {
			return "", withKind(ErrAuth, fmt.Errorf("reading password: %w", err))
		}
		return p, nil
	}
	auths = append(auths, ssh.PasswordCallback(password),
		ssh.KeyboardInteractive(func(_, _ string, questions []string, echos []bool) ([]string, error) {
			answers := make([]string, len(questions))
			for i, q := range questions {
				if echos[i] || !strings.Contains(strings.ToLower(q), "password") {
					return nil, fmt.Errorf("unsupported keyboard-interactive question %q", q)
				}
				p, err := password()
				if err != nil {
					return nil, err
				}
				answers[i] = p
			}
			return answers, nil
		}))
	return auths, done, nil
}

func (o *Options) loadIdentity() (ssh.Signer, error) {
	pem, err := os.ReadFile(o.Identity)
	if err != nil {
		return nil, withKind(ErrLocal, fmt.Errorf("identity: %w", err))
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if o.Prompt == nil {
			return nil, withKind(ErrAuth, fmt.Errorf("identity %s is encrypted and there is no terminal to ask for its passphrase", o.Identity))
		}
		pass, perr := o.Prompt(fmt.Sprintf("passphrase for %s: ", o.Identity))
		if perr != nil {
			return nil, withKind(ErrAuth, fmt.Errorf("reading passphrase: %w", perr))
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(pass))
	}
	if err != nil {
		return nil, withKind(ErrAuth, fmt.Errorf("identity %s: %w", o.Identity, err))
	}
	return signer, nil
}

// sshKnownHostsPath is the OpenSSH known_hosts file the client checks.
func (o *Options) sshKnownHostsPath() string {
	if o.SSHKnownHosts != "" {
		return o.SSHKnownHosts
	}
	return filepath.Join(homeDir(), ".ssh", "known_hosts")
}

// hostKeyCallback checks host keys with OpenSSH's known_hosts semantics
// and accepts a new host on first use (StrictHostKeyChecking=accept-new).
// It also returns the host key algorithms to ask for, so that a host known
// by an Ed25519 key is not reported as changed because it offered RSA.
func (o *Options) hostKeyCallback(t Target) (ssh.HostKeyCallback, []string, error) {
	if o.Insecure {
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	file := o.sshKnownHostsPath()
	if err := ensureFile(file); err != nil {
		return nil, nil, withKind(ErrTrust, fmt.Errorf("known hosts %s: %w", file, err))
	}
	check, err := knownhosts.New(file)
	if err != nil {
		return nil, nil, withKind(ErrTrust, fmt.Errorf("known hosts %s: %w", file, err))
	}
	algos := knownAlgorithms(check, t.Addr())
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		var ke *knownhosts.KeyError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) > 0:
			w := ke.Want[0]
			return withKind(ErrTrust, fmt.Errorf("WARNING: the host key of %s has CHANGED (known %s key at %s:%d, now %s %s). "+
				"Someone may be intercepting the connection. If the server's key was replaced on purpose, "+
				"remove that line and connect again", hostname, w.Key.Type(), w.Filename, w.Line, key.Type(), ssh.FingerprintSHA256(key)))
		case errors.As(err, &ke):
			line := knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key)
			if err := appendLine(file, line); err != nil {
				return withKind(ErrTrust, fmt.Errorf("recording host key of %s: %w", hostname, err))
			}
			o.notice("host %s is new; trusting its %s key %s on first use, recorded in %s", hostname, key.Type(), ssh.FingerprintSHA256(key), file)
			return nil
		}
		return withKind(ErrTrust, err)
	}
	return cb, algos, nil
}

// knownAlgorithms asks the known_hosts checker which key types it holds
// for addr, by offering it a key it cannot know.
func knownAlgorithms(check ssh.HostKeyCallback, addr string) []string {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	tcp, _ := net.ResolveTCPAddr("tcp", addr)
	var ke *knownhosts.KeyError
	if !errors.As(check(addr, tcp, probe), &ke) {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		switch k.Key.Type() {
		case ssh.KeyAlgoRSA:
			algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			algos = append(algos, k.Key.Type())
		}
	}
	return algos
}

func ensureFile(file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

func appendLine(file, line string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, line+"\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
