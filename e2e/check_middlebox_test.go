package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/internal/testutil"
)

// TestCheckNamesMiddlebox: in namespaces (client, NAT router, server),
// `ferry check` from the client names what the router does to FTP:
//   - the Linux conntrack ftp helper (nft ct helper) rewrites the cleartext
//     PASV reply, not the one inside TLS: reported as a rewriting middlebox;
//     without the helper, not;
//   - a router rule that drops the cleartext "AUTH TLS" command stalls
//     explicit FTPS while implicit FTPS works: reported as a middlebox that
//     breaks explicit FTPS, with the advice to use implicit FTPS.
func TestCheckNamesMiddlebox(t *testing.T) {
	testutil.Need(t, "nft")
	n := newTopology(t)
	const user, password = "ann", "middlebox-secret"
	s := newServer(t, func(c *config.Config) {
		c.ListenAddress = serverAddr
		c.FTP.Port, c.FTP.ImplicitPort, c.FTP.PassivePorts = 21, 990, "28000-28009"
		c.FTP.TLS = config.TLSOptional // cleartext allowed: the helper can read it
		c.SFTP.Enabled, c.HTTP.Enabled = false, false
	})
	s.addUser(user, password)
	n.nsServe(s)
	router := func(extra string) {
		t.Helper()
		n.must(n.router, "", "nft", "flush", "ruleset")
		n.must(n.router, `table ip lab {
	ct helper ftp-standard {
		type "ftp" protocol tcp;
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr `+routerOutside+` tcp dport { 21, 990, 28000-28009 } dnat to `+serverAddr+`
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "r0" masquerade
	}
	chain forward {
		type filter hook forward priority filter; policy accept;
`+extra+`
	}
}
`, "nft", "-f", "-")
	}
	check := func() string {
		t.Helper()
		out, _ := n.exec(n.client, []string{"FERRY_PASSWORD=" + password}, ferryBin, "check", routerOutside,
			"--config", s.ConfigPath, "--user", user, "--timeout", "4s", "--sample", "2")
		return out
	}
	line := func(out, check string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, check) {
				return l
			}
		}
		return ""
	}

	router(`		tcp dport 21 ct helper set "ftp-standard"`)
	out := check()
	if l := line(out, "FTP ALG"); !strings.Contains(l, "REWRITTEN") || !strings.Contains(l, routerOutside+" in cleartext but "+serverAddr+" inside TLS") {
		t.Errorf("with the conntrack ftp helper, ferry check does not name it:\n%s", out)
	}

	router(``)
	out = check()
	if l := line(out, "FTP ALG"); l == "" || strings.Contains(l, "REWRITTEN") {
		t.Errorf("without the helper, ferry check reports a rewrite (or no comparison):\n%s", out)
	}
	if strings.Contains(out, "middlebox") {
		t.Errorf("a middlebox is reported where the router does nothing to FTP:\n%s", out)
	}

	// "AUTH TLS" as the first 8 bytes of a TCP payload to port 21.
	start := time.Now()
	router(`		tcp dport 21 @ih,0,64 0x4155544820544c53 drop`)
	out = check()
	if l := line(out, "middlebox"); !strings.Contains(l, "explicit FTPS fails at AUTH TLS while implicit FTPS on port 990 works") {
		t.Errorf("a router that drops AUTH TLS is not named (after %s):\n%s", time.Since(start).Round(time.Second), out)
	}
}
