package e2e

// The client and the peers over the long-distance link (25 ms each way,
// 1 Gbit/s): ferry's client against vsftpd (explicit FTPS, PROT P) and
// OpenSSH's sshd (internal-sftp) in the server namespace, lftp and OpenSSH
// sftp against the same daemons, and lftp, OpenSSH sftp and curl against
// `ferry serve`. A 256 MiB file and a tree of 500 small files, down and up,
// byte-exact. Speed is bench/wan.sh's business: the times are logged, not
// asserted.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
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

const (
	wanPeerBigSize = 256<<20 + 4321
	wanPeerFiles   = 500
	// The daemons listen on their usual ports: the server namespace is the
	// test's own, nothing else binds there.
	wanVsftpdPort = 21
	wanSSHDPort   = 22
)

// wanPeerLab is what the subtests share: the link, the data, the test's
// system user (vsftpd logs in system users; sshd too) and its key.
type wanPeerLab struct {
	w        *wan
	user     string // a system user of the test's own, removed at the end
	password string
	key      string // its SSH private key (ed25519), for sshd and ferry serve
	pub      string // the public key file
	big      []byte
	bigFile  string // the client's copy of the large file
	tree     string // the client's tree of small files
	treeSum  string // treeOf(tree)
	treeSize int64  // its bytes
	root     string // the peers' files: the test user's home, 0755 up to /
}

func TestClientWANPeers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces and a system user need root: run the e2e tests as root (CI does)")
	}
	testutil.Need(t, "vsftpd", "sshd", "lftp", "sftp", "curl", "ssh-keygen", "useradd", "userdel", "chpasswd", "bash", "timeout")
	sshd, err := exec.LookPath("sshd") // sshd re-executes itself: an absolute path
	if err != nil {
		t.Fatal(err)
	}
	lab := newWANPeerLab(t) // before the link: its user outlives the link's processes
	lab.w = newWAN(t)

	started := time.Now()
	lab.startVsftpd(t)
	lab.startSSHD(t, sshd)
	s := lab.w.serve(nil)
	s.logTail(200) // a line per file of 1000: only the end when it fails
	t.Logf("daemons up in %.1fs", time.Since(started).Seconds())

	// Side by side: most steps wait on round trips, not on the 2 cores or
	// the link (measured here: 378 s one after the other, 152 s side by
	// side with lftp's two mirrors at once; the large files then share the
	// link and go at 28-46 MB/s instead of 35-57).
	t.Run("vsftpd", func(t *testing.T) { t.Parallel(); lab.vsftpd(t) })
	t.Run("openssh", func(t *testing.T) { t.Parallel(); lab.openssh(t) })
	t.Run("ferry-serve", func(t *testing.T) { t.Parallel(); lab.ferryServe(t, s) })
}

// newWANPeerLab makes the data and the system user whose home holds the
// peers' copy of it.
func newWANPeerLab(t *testing.T) *wanPeerLab {
	b := make([]byte, 3)
	rand.Read(b)
	lab := &wanPeerLab{user: "fwp" + hex.EncodeToString(b), password: "wan-peers-" + hex.EncodeToString(b)}
	base, err := os.MkdirTemp("", "ferry-wanpeers-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755) // the user's sessions walk down to its home
	lab.root = filepath.Join(base, "home")
	src := filepath.Join(base, "client")
	for _, d := range []string{lab.root, src} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// The user: a shell from /etc/shells (vsftpd's PAM asks pam_shells),
	// never run (sshd serves internal-sftp in its own process).
	var out []byte
	for i := 0; ; i++ { // another test may hold the lock on /etc/passwd a moment
		out, err = exec.Command("useradd", "-M", "-d", lab.root, "-s", "/bin/sh", lab.user).CombinedOutput()
		if err == nil || i == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		for i := 0; i < 20; i++ {
			if exec.Command("userdel", "-f", lab.user).Run() == nil {
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Errorf("userdel %s failed: the system user is left behind", lab.user)
	})
	// A password both for vsftpd and so that sshd does not see a locked
	// account.
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(lab.user + ":" + lab.password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v: %s", err, out)
	}

	lab.key = filepath.Join(base, "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", lab.key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	lab.pub = lab.key + ".pub"

	lab.big = testutil.RandomBytes(wanPeerBigSize, 77)
	lab.bigFile = filepath.Join(src, "big.bin")
	writeFile(t, lab.bigFile, lab.big)
	writeFile(t, filepath.Join(lab.root, "big.bin"), lab.big)
	lab.tree = filepath.Join(src, "tree")
	wanPeerTree(t, lab.tree)
	lab.treeSum = treeOf(t, lab.tree)
	filepath.WalkDir(lab.tree, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				lab.treeSize += fi.Size()
			}
		}
		return err
	})
	peerCopyTree(t, lab.tree, filepath.Join(lab.root, "tree"))

	if out, err := exec.Command("chown", "-R", lab.user+":", lab.root).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v: %s", err, out)
	}
	return lab
}

// wanPeerTree writes 500 files of 1-8 KiB in 10 folders.
func wanPeerTree(t *testing.T, root string) {
	t.Helper()
	for i := range wanPeerFiles {
		p := filepath.Join(root, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%03d.bin", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		writeFile(t, p, testutil.RandomBytes(1024+(i*2731)%(7*1024+1), uint64(1000+i)))
	}
}

// peerCopyTree copies a tree of plain files and folders.
func peerCopyTree(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", from+"/.", to+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", from, to, err, out)
	}
}

// sameTree fails unless the tree at got holds what the source tree holds,
// byte for byte.
func (lab *wanPeerLab) sameTree(t *testing.T, got string) {
	t.Helper()
	have := treeOf(t, got)
	if have == lab.treeSum {
		return
	}
	a, b := strings.Split(lab.treeSum, "\n"), strings.Split(have, "\n")
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			t.Fatalf("%s: %d entries, want %d; first difference: %q, want %q", got, len(b), len(a), b[i], a[i])
		}
	}
	t.Fatalf("%s: %d entries, want %d", got, len(b), len(a))
}

// in runs a command in the client namespace; it must succeed within 5
// minutes. It returns the combined output.
func (lab *wanPeerLab) in(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	out, err := lab.inErr(stdin, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// inErr is in for any goroutine: the error names the command and holds
// its output.
func (lab *wanPeerLab) inErr(stdin, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", lab.w.client, name}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// peerTimed runs f and logs how long it took and the rate for n bytes.
func peerTimed(t *testing.T, what string, n int64, f func()) {
	t.Helper()
	start := time.Now()
	f()
	d := time.Since(start).Seconds()
	t.Logf("%-44s %6.2fs %7.1f MB/s", what, d, float64(n)/d/1e6)
}

// peerJob is one timed step of peerSideBySide.
type peerJob struct {
	what string
	n    int64
	run  func() error
}

// peerSideBySide runs jobs at once (steps that wait on round trips, not on the
// link's bandwidth, such as lftp's mirrors of small files) and fails when
// any failed, once all have ended.
func peerSideBySide(t *testing.T, jobs ...peerJob) {
	t.Helper()
	errs := make([]error, len(jobs))
	took := make([]time.Duration, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() {
			start := time.Now()
			errs[i] = j.run()
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, j := range jobs {
		t.Logf("%-44s %6.2fs %7.1f MB/s (side by side)", j.what, took[i].Seconds(), float64(j.n)/took[i].Seconds()/1e6)
	}
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// lftp runs an lftp script against an FTP server with explicit TLS for
// login and data (PROT P).
func (lab *wanPeerLab) lftp(t *testing.T, user, password string, port int, script string) {
	t.Helper()
	if err := lab.lftpErr(user, password, port, script); err != nil {
		t.Fatal(err)
	}
}

// lftpErr is lftp for any goroutine. Commands go out without waiting for
// each reply (ftp:sync-mode off), as lftp does with servers it knows.
func (lab *wanPeerLab) lftpErr(user, password string, port int, script string) error {
	set := "set ssl:verify-certificate no; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; " +
		"set net:max-retries 2; set net:timeout 30; set xfer:clobber yes; set cmd:fail-exit yes; set ftp:sync-mode off; "
	_, err := lab.inErr("", "lftp", "-c", fmt.Sprintf("%sopen -u %s,%s ftp://%s:%d; %s", set, user, password, wanServerAddr, port, script))
	return err
}

// sftpBatch runs OpenSSH sftp -b with key authentication.
func (lab *wanPeerLab) sftpBatch(t *testing.T, user string, port int, cmds ...string) {
	t.Helper()
	lab.in(t, strings.Join(cmds, "\n")+"\n", "sftp", "-F", "/dev/null", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "IdentityFile="+lab.key, "-o", "IdentitiesOnly=yes",
		"-P", strconv.Itoa(port), "-b", "-", user+"@"+wanServerAddr)
}

// peerConnect tries a TCP connection from inside namespace ns. (Not with
// setns in this process: a goroutine locked to the main thread would leave
// the test itself in the namespace, and the link's teardown kills what is
// in it.) bash without start-up files: nothing of root's set-up runs.
func peerConnect(ns, host string, port int) error {
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d", host, port)
	out, err := exec.Command("ip", "netns", "exec", ns, "timeout", "5", "bash", "--norc", "--noprofile", "-c", script).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// daemon starts a peer server in the server namespace, kills it at the end
// and waits until its port answers from the client side.
func (lab *wanPeerLab) daemon(t *testing.T, port int, name string, args ...string) *testutil.Buffer {
	t.Helper()
	logs := &testutil.Buffer{}
	cmd := exec.Command("ip", append([]string{"netns", "exec", lab.w.server, name}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill() // ip netns exec execs in place: this is the daemon
		<-done
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs)
		}
	})
	addr := net.JoinHostPort(wanServerAddr, strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := peerConnect(lab.w.client, wanServerAddr, port)
		if err == nil {
			return logs
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("%s exited (%v):\n%s", name, err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not answer on %s (%v):\n%s", name, addr, err, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startVsftpd runs vsftpd with explicit FTPS required for login and data,
// session reuse required on data connections, passive mode.
func (lab *wanPeerLab) startVsftpd(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	cert, key := peerSelfSigned(t, dir)
	os.MkdirAll("/var/run/vsftpd/empty", 0o755)
	conf := filepath.Join(dir, "vsftpd.conf")
	writeFile(t, conf, []byte(strings.Join([]string{
		"listen=YES", "listen_ipv6=NO", "listen_address=" + wanServerAddr, "listen_port=" + strconv.Itoa(wanVsftpdPort),
		"background=NO", "anonymous_enable=NO", "local_enable=YES", "write_enable=YES", "local_umask=022",
		"pasv_enable=YES", "pasv_min_port=40000", "pasv_max_port=40999",
		"pam_service_name=vsftpd", "secure_chroot_dir=/var/run/vsftpd/empty", "seccomp_sandbox=NO",
		"max_clients=0", "max_per_ip=0", "xferlog_enable=NO",
		"ssl_enable=YES", "rsa_cert_file=" + cert, "rsa_private_key_file=" + key, "ssl_ciphers=HIGH",
		"force_local_logins_ssl=YES", "force_local_data_ssl=YES", "require_ssl_reuse=YES",
	}, "\n")+"\n"))
	lab.daemon(t, wanVsftpdPort, "vsftpd", conf)
}

// peerSelfSigned writes a certificate and key for the server's address.
func peerSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: wanServerAddr},
		IPAddresses: []net.IP{net.ParseIP(wanServerAddr)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	return certFile, keyFile
}

// startSSHD runs a private sshd with key logins and the in-process SFTP
// server (internal-sftp: no shell runs, whatever the user's shell or its
// start-up files do).
func (lab *wanPeerLab) startSSHD(t *testing.T, sshd string) {
	t.Helper()
	dir := filepath.Join(filepath.Dir(lab.root), "sshd") // sshd reads the keys as the user
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	host := filepath.Join(dir, "host")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	auth := filepath.Join(dir, "authorized_keys")
	pub, err := os.ReadFile(lab.pub)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, auth, pub)
	conf := filepath.Join(dir, "sshd_config")
	writeFile(t, conf, []byte(strings.Join([]string{
		"ListenAddress " + wanServerAddr, "HostKey " + host, "PidFile none",
		"AuthorizedKeysFile " + auth, "StrictModes no", "UsePAM no", "AllowUsers " + lab.user,
		"PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
		"MaxStartups 64:30:128", "MaxSessions 64",
		"Subsystem sftp internal-sftp",
	}, "\n")+"\n"))
	os.MkdirAll("/run/sshd", 0o755)
	lab.daemon(t, wanSSHDPort, sshd, "-D", "-e", "-f", conf, "-p", strconv.Itoa(wanSSHDPort))
}

// vsftpd: ferry's client (explicit FTPS) and lftp against vsftpd.
func (lab *wanPeerLab) vsftpd(t *testing.T) {
	c := lab.w.clientIn(t, lab.password)
	base := fmt.Sprintf("ftpes://%s@%s:%d", lab.user, wanServerAddr, wanVsftpdPort)
	dst := t.TempDir()
	n := int64(len(lab.big))

	peerTimed(t, "ferry get (ftpes, auto segments)", n, func() {
		sum := c.summary("get", base+"/big.bin", filepath.Join(dst, "big.bin"))
		t.Logf("%d segments", sum.Files[0].Segments)
		if sum.Files[0].Segments < 2 {
			t.Errorf("a 256 MiB download from vsftpd at 50 ms went in %d segments", sum.Files[0].Segments)
		}
	})
	sameFile(t, filepath.Join(dst, "big.bin"), lab.big)
	os.Remove(filepath.Join(dst, "big.bin"))
	peerTimed(t, "ferry put (ftpes)", n, func() { c.summary("put", lab.bigFile, base+"/ferry-up.bin") })
	sameFile(t, filepath.Join(lab.root, "ferry-up.bin"), lab.big)
	os.Remove(filepath.Join(lab.root, "ferry-up.bin"))

	peerTimed(t, "ferry get -r (ftpes, 500 files)", lab.treeSize, func() { c.ok("get", "-r", base+"/tree", filepath.Join(dst, "ferry-tree")) })
	lab.sameTree(t, filepath.Join(dst, "ferry-tree"))
	peerTimed(t, "ferry put -r (ftpes, 500 files)", lab.treeSize, func() { c.ok("put", "-r", lab.tree, base+"/ferry-tree") })
	lab.sameTree(t, filepath.Join(lab.root, "ferry-tree"))

	peerTimed(t, "lftp pget -n 4", n, func() {
		lab.lftp(t, lab.user, lab.password, wanVsftpdPort, "pget -n 4 -O "+dst+" big.bin")
	})
	sameFile(t, filepath.Join(dst, "big.bin"), lab.big)
	os.Remove(filepath.Join(dst, "big.bin"))
	peerSideBySide(t, peerJob{"lftp mirror --parallel=4", lab.treeSize, func() error {
		return lab.lftpErr(lab.user, lab.password, wanVsftpdPort, "mirror --no-perms --parallel=4 tree "+filepath.Join(dst, "lftp-tree"))
	}}, peerJob{"lftp mirror -R --parallel=4", lab.treeSize, func() error {
		return lab.lftpErr(lab.user, lab.password, wanVsftpdPort, "mirror -R --no-perms --parallel=4 "+lab.tree+" lftp-tree")
	}})
	lab.sameTree(t, filepath.Join(dst, "lftp-tree"))
	lab.sameTree(t, filepath.Join(lab.root, "lftp-tree"))
}

// openssh: ferry's client and OpenSSH sftp against sshd's internal-sftp.
// OpenSSH sftp moves one file at a time, a few round trips each: 500 files
// at 50 ms would take minutes, so it moves only the large file here.
func (lab *wanPeerLab) openssh(t *testing.T) {
	c := lab.w.clientIn(t, lab.password)
	c.extraArgs = []string{"--identity", lab.key}
	base := fmt.Sprintf("sftp://%s@%s:%d%s", lab.user, wanServerAddr, wanSSHDPort, lab.root)
	dst := t.TempDir()
	n := int64(len(lab.big))

	peerTimed(t, "ferry get (sftp, auto segments)", n, func() {
		sum := c.summary("get", base+"/big.bin", filepath.Join(dst, "big.bin"))
		t.Logf("%d segments", sum.Files[0].Segments)
		if sum.Files[0].Segments < 2 {
			t.Errorf("a 256 MiB download from sshd at 50 ms went in %d segments", sum.Files[0].Segments)
		}
	})
	sameFile(t, filepath.Join(dst, "big.bin"), lab.big)
	os.Remove(filepath.Join(dst, "big.bin"))
	peerTimed(t, "ferry put (sftp, auto segments)", n, func() {
		sum := c.summary("put", lab.bigFile, base+"/ferry-up.bin")
		t.Logf("%d segments", sum.Files[0].Segments)
		if sum.Files[0].Segments < 2 {
			t.Errorf("a 256 MiB upload to sshd at 50 ms went in %d segments", sum.Files[0].Segments)
		}
	})
	sameFile(t, filepath.Join(lab.root, "ferry-up.bin"), lab.big)
	os.Remove(filepath.Join(lab.root, "ferry-up.bin"))

	peerTimed(t, "ferry get -r (sftp, 500 files)", lab.treeSize, func() { c.ok("get", "-r", base+"/tree", filepath.Join(dst, "ferry-tree")) })
	lab.sameTree(t, filepath.Join(dst, "ferry-tree"))
	peerTimed(t, "ferry put -r (sftp, 500 files)", lab.treeSize, func() { c.ok("put", "-r", lab.tree, base+"/ferry-sftp-tree") })
	lab.sameTree(t, filepath.Join(lab.root, "ferry-sftp-tree"))

	peerTimed(t, "OpenSSH sftp get", n, func() {
		lab.sftpBatch(t, lab.user, wanSSHDPort, "get "+lab.root+"/big.bin "+filepath.Join(dst, "ossh.bin"))
	})
	sameFile(t, filepath.Join(dst, "ossh.bin"), lab.big)
	os.Remove(filepath.Join(dst, "ossh.bin"))
	peerTimed(t, "OpenSSH sftp put", n, func() {
		lab.sftpBatch(t, lab.user, wanSSHDPort, "put "+lab.bigFile+" "+lab.root+"/ossh-up.bin")
	})
	sameFile(t, filepath.Join(lab.root, "ossh-up.bin"), lab.big)
	os.Remove(filepath.Join(lab.root, "ossh-up.bin"))
}

// ferryServe: lftp (explicit FTPS), OpenSSH sftp and curl (the REST API)
// against `ferry serve`.
func (lab *wanPeerLab) ferryServe(t *testing.T, s *server) {
	const name = "peers"
	home := s.addUser(name, lab.password, "--key", lab.pub)
	writeFile(t, filepath.Join(home, "big.bin"), lab.big)
	peerCopyTree(t, lab.tree, filepath.Join(home, "tree"))
	dst := t.TempDir()
	n := int64(len(lab.big))

	peerTimed(t, "lftp pget -n 4 (ferry serve)", n, func() {
		lab.lftp(t, name, lab.password, s.Cfg.FTP.Port, "pget -n 4 -O "+dst+" big.bin")
	})
	sameFile(t, filepath.Join(dst, "big.bin"), lab.big)
	os.Remove(filepath.Join(dst, "big.bin"))
	peerSideBySide(t, peerJob{"lftp mirror --parallel=4 (ferry serve)", lab.treeSize, func() error {
		return lab.lftpErr(name, lab.password, s.Cfg.FTP.Port, "mirror --no-perms --parallel=4 tree "+filepath.Join(dst, "lftp-tree"))
	}}, peerJob{"lftp mirror -R --parallel=4 (ferry serve)", lab.treeSize, func() error {
		return lab.lftpErr(name, lab.password, s.Cfg.FTP.Port, "mirror -R --no-perms --parallel=4 "+lab.tree+" lftp-tree")
	}})
	lab.sameTree(t, filepath.Join(dst, "lftp-tree"))
	lab.sameTree(t, filepath.Join(home, "lftp-tree"))

	peerTimed(t, "OpenSSH sftp get (ferry serve)", n, func() {
		lab.sftpBatch(t, name, s.Cfg.SFTP.Port, "get big.bin "+filepath.Join(dst, "ossh.bin"))
	})
	sameFile(t, filepath.Join(dst, "ossh.bin"), lab.big)
	os.Remove(filepath.Join(dst, "ossh.bin"))

	api := fmt.Sprintf("https://%s:%d/api/v1/files/", wanServerAddr, s.Cfg.HTTP.HTTPSPort)
	peerTimed(t, "curl get (ferry serve)", n, func() {
		lab.in(t, "", "curl", "-sSfk", "-u", name+":"+lab.password, "-o", filepath.Join(dst, "curl.bin"), api+"big.bin")
	})
	sameFile(t, filepath.Join(dst, "curl.bin"), lab.big)
	os.Remove(filepath.Join(dst, "curl.bin"))
	peerTimed(t, "curl put (ferry serve)", n, func() {
		lab.in(t, "", "curl", "-sSfk", "-u", name+":"+lab.password, "-T", lab.bigFile, api+"curl-up.bin")
	})
	sameFile(t, filepath.Join(home, "curl-up.bin"), lab.big)
}
