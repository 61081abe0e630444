package firewall

import (
	"fmt"
	"strconv"
	"strings"
)

// Keep is a port a --default-drop ruleset accepts beside ferry's own, so
// that loading it over SSH does not cut the administrator's session.
type Keep struct {
	Port int
	Why  string
}

// KeepPorts lists the ports a --default-drop ruleset keeps open: the
// server port of the SSH session the command runs in (sshConnection is
// $SSH_CONNECTION, "client-ip client-port server-ip server-port"), port 22
// unless noSSH, and every extra port, each once.
func KeepPorts(sshConnection string, noSSH bool, extra []int) ([]Keep, error) {
	var ks []Keep
	add := func(p int, why string) {
		for _, k := range ks {
			if k.Port == p {
				return
			}
		}
		ks = append(ks, Keep{p, why})
	}
	if !noSSH {
		if f := strings.Fields(sshConnection); len(f) == 4 {
			p, err := strconv.Atoi(f[3])
			if err != nil || p < 1 || p > 65535 {
				return nil, fmt.Errorf("$SSH_CONNECTION %q: the fourth field is not a port", sshConnection)
			}
			add(p, "the SSH session that ran ferry firewall ($SSH_CONNECTION)")
		}
		add(22, "SSH")
	}
	for _, p := range extra {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("--keep-port %d: out of range 1-65535", p)
		}
		add(p, "--keep-port")
	}
	return ks, nil
}

// keepNote is the comment at the top of a --default-drop ruleset.
func keepNote(b *strings.Builder, comment string, rs *Ruleset) {
	fmt.Fprintf(b, "%s --default-drop: this ruleset drops every inbound connection it does not accept.\n", comment)
	if len(rs.keep) == 0 {
		fmt.Fprintf(b, "%s It keeps NO other port open (--no-ssh and no --keep-port): an SSH session to this host is cut.\n", comment)
		return
	}
	for _, k := range rs.keep {
		fmt.Fprintf(b, "%s It keeps TCP port %d open: %s.\n", comment, k.Port, k.Why)
	}
}
