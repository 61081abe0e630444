package testutil

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"

	"github.com/ferry-project/ferry/config"
)

// FreePort returns a currently free high TCP port on loopback.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// PortFree reports whether a TCP port can be bound on loopback.
func PortFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// FreeRange returns n consecutive free ports below the kernel's ephemeral
// range, so that outgoing connections do not take them meanwhile.
func FreeRange(t testing.TB, n int) config.PortRange {
	t.Helper()
	for try := 0; try < 200; try++ {
		lo := 20000 + rand.IntN(12000-n)
		ok := true
		for p := lo; p < lo+n && ok; p++ {
			ok = PortFree(p)
		}
		if ok {
			return config.PortRange{Low: lo, High: lo + n - 1}
		}
	}
	t.Fatal("no free port range")
	return config.PortRange{}
}

// RandomBytes returns n reproducible pseudo-random bytes.
func RandomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
