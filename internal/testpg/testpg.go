package testpg

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/internal/testutil"
)

// Server is a running private PostgreSQL server.
type Server struct {
	// DSN reaches its database "ferry" as the superuser "ferry" (trust
	// authentication, loopback only).
	DSN  string
	Addr string // host:port

	dir, port string
	prefix    []string
}

// bin finds the folder of initdb and pg_ctl: Debian keeps them out of PATH
// under /usr/lib/postgresql/VERSION/bin.
func bin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// Start runs a new cluster for t and returns it; the server is stopped and
// its files removed when t ends. PostgreSQL refuses to run as root, so as
// root it runs as the "postgres" account that Debian's package creates.
func Start(t testing.TB) *Server {
	t.Helper()
	s, stop, err := start(t, "", "127.0.0.1")
	t.Cleanup(stop)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var shared struct {
	sync.Mutex
	srv  *Server
	stop func()
	err  error
	n    int
}

// DB returns a new, empty database on a server shared by the tests of one
// test binary (a cluster costs seconds to make), for tests that each want
// a database of their own. The package's TestMain must call StopShared.
func DB(t testing.TB) string {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.srv == nil && shared.err == nil {
		shared.srv, shared.stop, shared.err = start(t, "", "127.0.0.1")
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	shared.n++
	name := fmt.Sprintf("t%d", shared.n)
	if err := shared.srv.run("createdb", "-h", "127.0.0.1", "-p", shared.srv.port, "-U", "ferry", name); err != nil {
		t.Fatal(err)
	}
	return "postgres://ferry@" + shared.srv.Addr + "/" + name + "?sslmode=disable&connect_timeout=10"
}

// StopShared stops the server of DB, if one was started.
func StopShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.stop != nil {
		shared.stop()
		shared.srv, shared.stop = nil, nil
	}
}

// StartIn runs a new cluster inside network namespace ns, listening on
// host:5432 (an address of that namespace), for tests of several nodes
// that reach their database over a network.
func StartIn(t testing.TB, ns, host string) *Server {
	t.Helper()
	s, stop, err := start(t, ns, host)
	t.Cleanup(stop)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func start(t testing.TB, ns, host string) (*Server, func(), error) {
	t.Helper()
	nothing := func() {}
	if runtime.GOOS != "linux" {
		t.Skip("testpg: PostgreSQL tests run on Linux")
	}
	dir := bin()
	if dir == "" {
		testutil.Need(t, "initdb", "postgresql")
	}
	base, err := os.MkdirTemp("", "ferry-pg-")
	if err != nil {
		return nil, nothing, err
	}
	cleanup := func() { os.RemoveAll(base) }
	var prefix []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, cleanup, fmt.Errorf("testpg: as root PostgreSQL needs the postgres account (Debian package postgresql): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			return nil, cleanup, err
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	if ns != "" {
		prefix = append([]string{"ip", "netns", "exec", ns}, prefix...)
	}
	srv := &Server{dir: dir, prefix: prefix}
	data := filepath.Join(base, "data")
	if err := srv.run("initdb", "-D", data, "-U", "ferry", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"); err != nil {
		return nil, cleanup, err
	}
	if ns != "" {
		// The nodes of a cluster test connect from their own namespaces:
		// trust every address of this test's private network.
		f, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return nil, cleanup, err
		}
		_, err = f.WriteString("host all all 0.0.0.0/0 trust\n")
		f.Close()
		if err != nil {
			return nil, cleanup, err
		}
	}
	port := 5432 // a namespace of the test's own has every port free
	if ns == "" {
		port = freePort(t)
	}
	srv.port = strconv.Itoa(port)
	opts := fmt.Sprintf("-c listen_addresses="+host+" -p %d -k %s -c fsync=off -c full_page_writes=off -c max_connections=300", port, base)
	if err := srv.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(base, "log"), "-w", "-t", "60", "start"); err != nil {
		return nil, cleanup, err
	}
	stop := func() {
		if err := srv.run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		cleanup()
	}
	srv.Addr = net.JoinHostPort(host, srv.port)
	if err := srv.run("createdb", "-h", host, "-p", srv.port, "-U", "ferry", "ferry"); err != nil {
		return nil, stop, err
	}
	srv.DSN = "postgres://ferry@" + srv.Addr + "/ferry?sslmode=disable&connect_timeout=10"
	return srv, stop, nil
}

func (s *Server) run(name string, args ...string) error {
	argv := append(append(append([]string{}, s.prefix...), filepath.Join(s.dir, name)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out.String())
	}
	return nil
}

// freePort picks a loopback port that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Give the kernel a moment to forget the port's listener.
	defer time.Sleep(10 * time.Millisecond)
	return l.Addr().(*net.TCPAddr).Port
}
