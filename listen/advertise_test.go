package listen

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestAdvertiseOverrides(t *testing.T) {
	p := planWith(t, func(c *config.Config) {
		c.PublicHost = "203.0.113.9"
		c.FTP.PassiveOverride = []config.PassiveOverride{
			{Networks: []string{"10.0.0.0/8", "192.168.1.7"}, Address: "198.51.100.1"},
			{Networks: []string{"127.0.0.0/8", "fd00::/8"}},
		}
	})
	local := netip.MustParseAddr("192.0.2.10")
	for remote, want := range map[string]string{
		"10.1.2.3":        "198.51.100.1",
		"::ffff:10.1.2.3": "198.51.100.1", // an IPv4 client on a dual-stack listener
		"192.168.1.7":     "198.51.100.1",
		"192.168.1.8":     "203.0.113.9",
		"127.0.0.5":       "192.0.2.10",
		"fd00::5":         "192.0.2.10",
		"198.51.100.77":   "203.0.113.9",
	} {
		got, err := p.Advertise(context.Background(), quiet, netip.MustParseAddr(remote), local)
		if err != nil || got.String() != want {
			t.Errorf("client %s: told %v (%v), want %s", remote, got, err, want)
		}
	}
	none := planWith(t, func(*config.Config) {})
	if got, err := none.Advertise(context.Background(), quiet, netip.MustParseAddr("198.51.100.77"), local); err != nil || got != local {
		t.Errorf("without public_host: %v (%v), want the local address %s", got, err, local)
	}
}

func TestAdvertiseHostName(t *testing.T) {
	p := planWith(t, func(c *config.Config) {
		c.PublicHost = "localhost"
		c.FTP.PassiveOverride = []config.PassiveOverride{{Networks: []string{"10.0.0.0/8"}, Address: "localhost"}}
	})
	local := netip.MustParseAddr("192.0.2.10")
	for _, remote := range []string{"198.51.100.77", "10.0.0.1"} {
		got, err := p.Advertise(context.Background(), quiet, netip.MustParseAddr(remote), local)
		if err != nil || got != loopback {
			t.Errorf("client %s: localhost gave %v (%v), want 127.0.0.1 (IPv4 preferred)", remote, got, err)
		}
	}
	bad := planWith(t, func(c *config.Config) { c.PublicHost = "no-such-host.invalid" })
	if got, err := bad.Advertise(context.Background(), quiet, loopback, local); err == nil {
		t.Errorf("an unresolvable name gave %v", got)
	}
}

// TestHostAddrResolvesAgain: a name is looked up again once resolveEvery
// has passed, IPv4 wins, and a failed lookup keeps the last address.
func TestHostAddrResolvesAgain(t *testing.T) {
	type answer struct {
		ips []string
		err error
	}
	fail := errors.New("server misbehaving")
	var answers []answer
	lookup := func(_ context.Context, network, host string) ([]netip.Addr, error) {
		if network != "ip" || host != "ftp.example.net" {
			t.Errorf("lookup %s %s", network, host)
		}
		if len(answers) == 0 {
			t.Fatal("unexpected lookup")
		}
		a := answers[0]
		answers = answers[1:]
		var ips []netip.Addr
		for _, s := range a.ips {
			ips = append(ips, netip.MustParseAddr(s))
		}
		return ips, a.err
	}
	logs := &testutil.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h := newHostAddr("ftp.example.net")
	h.lookup = lookup
	get := func(want string) {
		t.Helper()
		got, err := h.get(context.Background(), log)
		if err != nil || got.String() != want {
			t.Fatalf("got %v (%v), want %s", got, err, want)
		}
	}
	answers = []answer{{ips: []string{"2001:db8::1", "::ffff:192.0.2.1"}}}
	get("192.0.2.1")
	get("192.0.2.1") // cached: no lookup
	h.at = time.Now().Add(-resolveEvery)
	answers = []answer{{ips: []string{"192.0.2.2"}}}
	get("192.0.2.2")
	if !strings.Contains(logs.String(), "passive address resolved") || !strings.Contains(logs.String(), "ip=192.0.2.2") {
		t.Errorf("new address not logged:\n%s", logs)
	}
	h.at = time.Now().Add(-resolveEvery)
	answers = []answer{{err: fail}}
	get("192.0.2.2")
	if !strings.Contains(logs.String(), "keeping the last one") {
		t.Errorf("failed lookup not logged:\n%s", logs)
	}

	fresh := newHostAddr("ftp.example.net")
	fresh.lookup = lookup
	answers = []answer{{err: fail}, {}, {ips: []string{"2001:db8::1"}}}
	if _, err := fresh.get(context.Background(), log); !errors.Is(err, fail) {
		t.Errorf("first lookup failing: %v, want it wrapped", err)
	}
	if _, err := fresh.get(context.Background(), log); !errors.Is(err, errNoAddress) {
		t.Errorf("empty answer: %v", err)
	}
	if got, err := fresh.get(context.Background(), log); err != nil || got.String() != "2001:db8::1" {
		t.Errorf("IPv6 only: %v (%v)", got, err)
	}

	literal := newHostAddr("203.0.113.9")
	literal.lookup = func(context.Context, string, string) ([]netip.Addr, error) {
		t.Fatal("an IP literal is never looked up")
		return nil, nil
	}
	if got, err := literal.get(context.Background(), log); err != nil || got.String() != "203.0.113.9" {
		t.Errorf("literal: %v (%v)", got, err)
	}
}
