package client

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// Test peers: a private vsftpd and a private OpenSSH sshd, each started
// by the test on loopback with its own configuration.

const (
	ftpUser = "ferryclient"
	ftpPass = "ferry-client-test-pw"
)

var userOnce sync.Once

// ensureFTPUser creates the system user vsftpd logs in (vsftpd only knows
// system users) and sets its password.
func ensureFTPUser(t *testing.T) {
	t.Helper()
	var err error
	userOnce.Do(func() {
		if exec.Command("id", ftpUser).Run() != nil {
			if out, e := exec.Command("useradd", "-M", "-d", "/", "-s", "/bin/bash", ftpUser).CombinedOutput(); e != nil {
				err = fmt.Errorf("useradd: %v: %s", e, out)
				return
			}
		}
		// vsftpd changes to the home folder before local_root.
		if out, e := exec.Command("usermod", "-d", "/", ftpUser).CombinedOutput(); e != nil {
			err = fmt.Errorf("usermod: %v: %s", e, out)
			return
		}
		cmd := exec.Command("chpasswd")
		cmd.Stdin = strings.NewReader(ftpUser + ":" + ftpPass + "\n")
		if out, e := cmd.CombinedOutput(); e != nil {
			err = fmt.Errorf("chpasswd: %v: %s", e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(mrand.Int64()),
		Subject:      pkix.Name{CommonName: "ferry client test " + name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	return certFile, keyFile
}

// vsftpd is one private vsftpd instance.
type vsftpd struct {
	Port int
	Root string // the user's folder, owned by the user
	Log  string // protocol log (log_ftp_protocol)
	dir  string
	cmd  *exec.Cmd
	out  *bytes.Buffer
}

type vsftpdOpts struct {
	implicit bool
	cert     string   // name of the certificate to use ("a" by default)
	port     int      // 0: a free port
	root     string   // "": a new folder
	extra    []string // configuration lines after the defaults (a later line wins)
}

func startVsftpd(t *testing.T, o vsftpdOpts) *vsftpd {
	t.Helper()
	if _, err := exec.LookPath("vsftpd"); err != nil {
		t.Fatalf("vsftpd is not installed (.ci/run installs it): %v", err)
	}
	ensureFTPUser(t)
	dir := t.TempDir()
	v := &vsftpd{Port: o.port, Root: o.root, Log: filepath.Join(dir, "vsftpd.log"), dir: dir, out: &bytes.Buffer{}}
	if v.Port == 0 {
		v.Port = testutil.FreePort(t)
	}
	if v.Root == "" {
		root, err := os.MkdirTemp("", "ferry-client-ftp-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		out, err := exec.Command("chown", ftpUser, root).CombinedOutput()
		if err != nil {
			t.Fatalf("chown: %v: %s", err, out)
		}
		os.Chmod(root, 0o755)
		v.Root = root
	}
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	name := o.cert
	if name == "" {
		name = "a"
	}
	certFile, keyFile := writeCert(t, dir, name)
	ports := testutil.FreeRange(t, 20)
	lo, hi := ports.Low, ports.High
	conf := []string{
		"listen=YES", "listen_ipv6=NO", "listen_address=127.0.0.1",
		"listen_port=" + strconv.Itoa(v.Port), "background=NO",
		"anonymous_enable=NO", "local_enable=YES", "write_enable=YES", "local_umask=022",
		"local_root=" + v.Root, "secure_chroot_dir=" + empty, "pam_service_name=vsftpd",
		"seccomp_sandbox=NO", "ssl_enable=YES", "rsa_cert_file=" + certFile, "rsa_private_key_file=" + keyFile,
		"require_ssl_reuse=YES", "force_local_logins_ssl=YES", "force_local_data_ssl=YES",
		"pasv_enable=YES", "pasv_min_port=" + strconv.Itoa(lo), "pasv_max_port=" + strconv.Itoa(hi),
		"port_enable=YES", "port_promiscuous=YES", "connect_from_port_20=NO",
		"log_ftp_protocol=YES", "xferlog_enable=YES", "xferlog_std_format=NO", "vsftpd_log_file=" + v.Log,
	}
	if o.implicit {
		conf = append(conf, "implicit_ssl=YES")
	}
	conf = append(conf, o.extra...)
	cfg := filepath.Join(dir, "vsftpd.conf")
	if err := os.WriteFile(cfg, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v.cmd = exec.Command("vsftpd", cfg)
	v.cmd.Stdout, v.cmd.Stderr = v.out, v.out
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.stop)
	waitListen(t, v.Port, v.out)
	return v
}

func (v *vsftpd) stop() {
	if v.cmd != nil && v.cmd.Process != nil {
		v.cmd.Process.Kill()
		v.cmd.Wait()
		v.cmd = nil
	}
}

// logText is vsftpd's protocol log so far.
func (v *vsftpd) logText() string {
	b, _ := os.ReadFile(v.Log)
	return string(b)
}

func waitListen(t *testing.T, port int, out fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer does not listen on %d: %s", port, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sshd is one private OpenSSH server with the sftp-server subsystem.
type sshd struct {
	Port     int
	Identity string // a client key that may log in as root
	dir      string
	cmd      *exec.Cmd
	out      *bytes.Buffer
}

func startSSHD(t *testing.T, port int, identity string) *sshd {
	t.Helper()
	for _, p := range []string{"/usr/sbin/sshd", "/usr/lib/openssh/sftp-server", "/usr/bin/ssh-keygen"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing (.ci/run installs openssh-server): %v", p, err)
		}
	}
	os.MkdirAll("/run/sshd", 0o755)
	dir := t.TempDir()
	s := &sshd{Port: port, dir: dir, out: &bytes.Buffer{}, Identity: identity}
	if s.Port == 0 {
		s.Port = testutil.FreePort(t)
	}
	hostKey := filepath.Join(dir, "host_ed25519")
	keygen(t, hostKey)
	if s.Identity == "" {
		s.Identity = filepath.Join(dir, "id_ed25519")
		keygen(t, s.Identity)
	}
	pub, err := os.ReadFile(s.Identity + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "authorized_keys")
	os.WriteFile(auth, pub, 0o600)
	conf := []string{
		"ListenAddress 127.0.0.1", "HostKey " + hostKey, "PidFile none",
		"AuthorizedKeysFile " + auth, "StrictModes no", "UsePAM no",
		"PasswordAuthentication no", "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password",
		"Subsystem sftp /usr/lib/openssh/sftp-server",
	}
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(strings.Join(conf, "\n")+"\n"), 0o600)
	s.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", cfg, "-p", strconv.Itoa(s.Port))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	waitListen(t, s.Port, s.out)
	return s
}

func (s *sshd) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

func keygen(t *testing.T, file string) {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
}
