package firewall

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
)

// Formats are the output formats Render knows, in the order of the help text.
var Formats = []string{"table", "json", "nft", "iptables", "ufw", "firewalld", "windows"}

// Render writes the ruleset in one of Formats.
func Render(w io.Writer, rs *Ruleset, format string) error {
	if rs.Side == Router {
		switch format {
		case "table":
			return renderTable(w, rs)
		case "json":
			return renderJSON(w, rs)
		case "nft":
			return renderRouterNft(w, rs)
		}
		return fmt.Errorf("the router side is printed as nft, table or json, not %q", format)
	}
	var b strings.Builder
	var err error
	switch format {
	case "table":
		return renderTable(w, rs)
	case "json":
		return renderJSON(w, rs)
	case "nft":
		err = renderNft(&b, rs)
	case "iptables":
		err = renderIptables(&b, rs)
	case "ufw":
		err = renderUfw(&b, rs)
	case "firewalld":
		err = renderFirewalld(&b, rs)
	case "windows":
		err = renderWindows(&b, rs)
	default:
		return fmt.Errorf("unknown format %q: use one of %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// family tells whether a remote is an IPv4 or IPv6 address or network;
// firewalls match addresses, so a host name is refused.
func family(remote, format string) (v6 bool, err error) {
	if ip, _, err := net.ParseCIDR(remote); err == nil {
		return ip.To4() == nil, nil
	}
	if ip := net.ParseIP(remote); ip != nil {
		return ip.To4() == nil, nil
	}
	return false, fmt.Errorf("the %s format matches addresses, and %q is not one: give the server's IP address with --server", format, remote)
}

func header(b *strings.Builder, comment string, rs *Ruleset) {
	state := "stateful: established and related return traffic is allowed"
	switch {
	case rs.Side == Router:
		state = "the port forwards (DNAT) of the NAT router in front of the server"
	case !rs.Stateful:
		state = "stateless: every reply flow has its own rule"
	}
	fmt.Fprintf(b, "%s ferry firewall: %s side, %s.\n", comment, rs.Side, state)
	for _, w := range rs.Warnings {
		fmt.Fprintf(b, "%s warning: %s\n", comment, w)
	}
}

func forwardNote(b *strings.Builder, comment string, rs *Ruleset) {
	if len(rs.Forwards) == 0 {
		return
	}
	ports := make([]string, len(rs.Forwards))
	for i, f := range rs.Forwards {
		ports[i] = f.Ports
	}
	fmt.Fprintf(b, "%s The NAT router in front of this server (public_host %s) must forward TCP ports %s\n", comment, rs.publicHost, strings.Join(ports, ", "))
	fmt.Fprintf(b, "%s to the server's private address; its nft ruleset: ferry firewall --side router --forward-to ADDR --format nft\n", comment)
}

// statefulNote explains why reply rules are left out of formats whose
// firewalls always track connections.
func statefulNote(b *strings.Builder, comment, name string, rs *Ruleset) {
	if !rs.Stateful {
		fmt.Fprintf(b, "%s %s tracks connections itself: reply flows need no rules and are left out.\n", comment, name)
	}
}

func renderJSON(w io.Writer, rs *Ruleset) error {
	b, err := json.MarshalIndent(rs, "", "  ")
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// describe writes a rule in the words of DESIGN §3.
func describe(r Rule) string {
	var s []string
	if r.Direction == In {
		s = append(s, "in  tcp")
		if r.local.Low != 0 {
			s = append(s, "dport "+r.LocalPorts)
		}
		s = append(s, "from "+r.Remote)
		if r.remotePorts.Low != 0 {
			s = append(s, "sport "+r.RemotePorts)
		}
	} else {
		s = append(s, "out tcp")
		if r.local.Low != 0 {
			s = append(s, "sport "+r.LocalPorts)
		}
		s = append(s, "to "+r.Remote)
		if r.remotePorts.Low != 0 {
			s = append(s, "dport "+r.RemotePorts)
		}
	}
	return strings.Join(s, " ")
}

func renderTable(w io.Writer, rs *Ruleset) error {
	var b strings.Builder
	header(&b, "#", rs)
	b.WriteString("\n")
	if len(rs.groups) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVICE\tMODE\tSIDE\tRULE\tPURPOSE")
		for _, g := range rs.groups {
			svc, mode := g.Service, string(g.Mode)
			if mode == "" {
				mode = "-"
			}
			for _, side := range []struct {
				name  string
				rules []Rule
			}{{"server", g.Server}, {"client", g.Client}} {
				name := side.name
				for _, r := range side.rules {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", svc, mode, name, describe(r), r.Purpose)
					svc, mode, name = "", "", ""
				}
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(&b, "\n%s side, deduplicated:\n", rs.Side)
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, r := range rs.Rules {
			fmt.Fprintf(tw, "  %s\t%s\n", describe(r), r.Purpose)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rs.Forwards) > 0 {
		to := rs.forwardTo
		if to == "" {
			to = "the server's private address"
		}
		if len(rs.groups) > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "port forwards (DNAT) on the NAT router, public_host %s -> %s:\n", rs.publicHost, to)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, f := range rs.Forwards {
			fmt.Fprintf(tw, "  tcp %s\t%s\n", f.Ports, f.Purpose)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func nftRule(r Rule) (string, error) {
	var m []string
	if r.Remote != Any {
		v6, err := family(r.Remote, "nft")
		if err != nil {
			return "", err
		}
		fam, dir := "ip", "daddr"
		if v6 {
			fam = "ip6"
		}
		if r.Direction == In {
			dir = "saddr"
		}
		m = append(m, fam+" "+dir+" "+r.Remote)
	}
	lp, rp := "dport", "sport"
	if r.Direction == Out {
		lp, rp = "sport", "dport"
	}
	if r.local.Low != 0 {
		m = append(m, "tcp "+lp+" "+r.LocalPorts)
	}
	if r.remotePorts.Low != 0 {
		m = append(m, "tcp "+rp+" "+r.RemotePorts)
	}
	if r.local.Low == 0 && r.remotePorts.Low == 0 {
		m = append(m, "meta l4proto tcp")
	}
	return fmt.Sprintf("%s accept comment %q", strings.Join(m, " "), clip(r.Purpose, 127)), nil
}

// clip shortens a comment to what the firewall stores.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// renderNft writes, by default, two regular chains of accept rules to
// include in the administrator's own table (nft cannot jump across
// tables); with --default-drop a complete table inet ferry whose input
// policy is drop.
func renderNft(b *strings.Builder, rs *Ruleset) error {
	b.WriteString("#!/usr/sbin/nft -f\n")
	header(b, "#", rs)
	indent := "\t"
	if rs.defaultDrop {
		keepNote(b, "#", rs)
		b.WriteString("# Load with: nft -f FILE (replaces the table inet ferry, leaves other tables alone).\n")
	} else {
		b.WriteString(`# Only accept rules, in the chains ferry_input and ferry_output: no policy, no drop, so this
# cannot lock anyone out. Include the file inside your own table and jump to the chains:
#   table inet filter {
#       include "/etc/nftables.d/ferry.nft"
#       chain input { type filter hook input priority filter; policy drop; ...; jump ferry_input }
#       chain output { type filter hook output priority filter; ...; jump ferry_output }
#   }
# ferry firewall --default-drop prints a complete host ruleset instead.
`)
		indent = ""
	}
	forwardNote(b, "#", rs)
	if rs.defaultDrop {
		b.WriteString("\ntable inet ferry\ndelete table inet ferry\n\ntable inet ferry {\n")
	}
	for _, ch := range []struct{ name, dir, policy, iface string }{
		{"input", In, "drop", "iifname"},
		{"output", Out, "accept", "oifname"},
	} {
		in := indent + "\t"
		if !rs.defaultDrop {
			fmt.Fprintf(b, "\nchain ferry_%s {\n", ch.name)
			if rs.Stateful {
				b.WriteString(in + "ct state established,related accept\n")
			}
		} else {
			fmt.Fprintf(b, "\tchain %s {\n\t\ttype filter hook %s priority filter; policy %s;\n", ch.name, ch.name, ch.policy)
			if ch.dir == Out {
				b.WriteString("\t\t# Outbound traffic is allowed; the rules below are what ferry needs if you set policy drop.\n")
			}
			if rs.Stateful {
				b.WriteString("\t\tct state established,related accept\n\t\tct state invalid drop\n")
			}
			fmt.Fprintf(b, "\t\t%s \"lo\" accept\n\t\tmeta l4proto { icmp, ipv6-icmp } accept\n", ch.iface)
			if ch.dir == In {
				for _, k := range rs.keep {
					fmt.Fprintf(b, "\t\ttcp dport %d accept comment %q\n", k.Port, clip("kept: "+k.Why, 127))
				}
			}
		}
		for _, r := range rs.Rules {
			if r.Direction != ch.dir {
				continue
			}
			line, err := nftRule(r)
			if err != nil {
				return err
			}
			b.WriteString(in + line + "\n")
		}
		b.WriteString(indent + "}\n")
	}
	if rs.defaultDrop {
		b.WriteString("}\n")
	}
	return nil
}

func renderRouterNft(w io.Writer, rs *Ruleset) error {
	var b strings.Builder
	b.WriteString("#!/usr/sbin/nft -f\n")
	fmt.Fprintf(&b, "# ferry firewall: NAT router in front of the server; forwards public_host %s to %s.\n", rs.publicHost, rs.forwardTo)
	for _, w := range rs.Warnings {
		fmt.Fprintf(&b, "# warning: %s\n", w)
	}
	b.WriteString("# If the router filters forwarded traffic, also accept \"ct status dnat\" in its forward chain.\n")
	fam := "ip"
	if strings.Contains(rs.forwardTo, ":") {
		fam = "ip6"
	}
	match := ""
	if ip := net.ParseIP(rs.publicHost); ip != nil {
		match = fam + " daddr " + ip.String() + " "
	}
	fmt.Fprintf(&b, "\ntable %[1]s ferry_nat\ndelete table %[1]s ferry_nat\n\ntable %[1]s ferry_nat {\n", fam)
	b.WriteString("\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
	for _, f := range rs.Forwards {
		fmt.Fprintf(&b, "\t\t%stcp dport %s dnat to %s comment %q\n", match, f.Ports, rs.forwardTo, clip(f.Purpose, 127))
	}
	b.WriteString("\t}\n\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n")
	fmt.Fprintf(&b, "\t\t%s saddr %s masquerade comment \"the server's own connections (FTP active data) leave with the router's address\"\n", fam, rs.forwardTo)
	b.WriteString("\t}\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func iptRange(p string) string { return strings.ReplaceAll(p, "-", ":") }

func renderIptables(b *strings.Builder, rs *Ruleset) error {
	header(b, "#", rs)
	chains := []struct{ name, dir, iface string }{{"INPUT", In, "-i"}, {"OUTPUT", Out, "-o"}}
	if rs.defaultDrop {
		keepNote(b, "#", rs)
		b.WriteString("# Load with: iptables-restore < FILE and ip6tables-restore < FILE (rules marked -4 or -6 apply to one family).\n")
		b.WriteString("# This replaces the filter table; add --noflush to keep rules already there.\n")
		forwardNote(b, "#", rs)
		b.WriteString("*filter\n:INPUT DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n")
	} else {
		b.WriteString(`# Only accept rules, in the chains FERRY-INPUT and FERRY-OUTPUT: no policy, no drop, so this
# cannot lock anyone out. Load with: iptables-restore --noflush < FILE (and ip6tables-restore
# --noflush; rules marked -4 or -6 apply to one family), then jump to the chains once:
#   iptables -A INPUT -j FERRY-INPUT; iptables -A OUTPUT -j FERRY-OUTPUT
# ferry firewall --default-drop prints a complete host ruleset instead.
`)
		forwardNote(b, "#", rs)
		b.WriteString("*filter\n:FERRY-INPUT - [0:0]\n:FERRY-OUTPUT - [0:0]\n")
		chains = []struct{ name, dir, iface string }{{"FERRY-INPUT", In, ""}, {"FERRY-OUTPUT", Out, ""}}
	}
	for _, ch := range chains {
		switch {
		case !rs.defaultDrop:
			if rs.Stateful {
				fmt.Fprintf(b, "-A %s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n", ch.name)
			}
		default:
			if rs.Stateful {
				fmt.Fprintf(b, "-A %[1]s -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A %[1]s -m conntrack --ctstate INVALID -j DROP\n", ch.name)
			}
			fmt.Fprintf(b, "-A %[1]s %[2]s lo -j ACCEPT\n-A %[1]s -4 -p icmp -j ACCEPT\n-A %[1]s -6 -p ipv6-icmp -j ACCEPT\n", ch.name, ch.iface)
			if ch.dir == In {
				for _, k := range rs.keep {
					fmt.Fprintf(b, "-A %s -p tcp --dport %d -m comment --comment %q -j ACCEPT\n", ch.name, k.Port, clip("kept: "+k.Why, 255))
				}
			}
		}
		for _, r := range rs.Rules {
			if r.Direction != ch.dir {
				continue
			}
			line := "-A " + ch.name
			if r.Remote != Any {
				v6, err := family(r.Remote, "iptables")
				if err != nil {
					return err
				}
				fam, flag := "-4", "-d"
				if v6 {
					fam = "-6"
				}
				if r.Direction == In {
					flag = "-s"
				}
				line += " " + fam + " " + flag + " " + r.Remote
			}
			line += " -p tcp"
			lp, rp := "--dport", "--sport"
			if r.Direction == Out {
				lp, rp = "--sport", "--dport"
			}
			if r.local.Low != 0 {
				line += " " + lp + " " + iptRange(r.LocalPorts)
			}
			if r.remotePorts.Low != 0 {
				line += " " + rp + " " + iptRange(r.RemotePorts)
			}
			fmt.Fprintf(b, "%s -m comment --comment %q -j ACCEPT\n", line, clip(r.Purpose, 255))
		}
	}
	b.WriteString("COMMIT\n")
	return nil
}

// shq quotes s for a POSIX shell.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func checkAddrs(rs *Ruleset, format string) error {
	for _, r := range rs.Rules {
		if r.Remote != Any {
			if _, err := family(r.Remote, format); err != nil {
				return err
			}
		}
	}
	return nil
}

func renderUfw(b *strings.Builder, rs *Ruleset) error {
	if err := checkAddrs(rs, "ufw"); err != nil {
		return err
	}
	header(b, "#", rs)
	statefulNote(b, "#", "ufw", rs)
	forwardNote(b, "#", rs)
	if rs.defaultDrop {
		keepNote(b, "#", rs)
		for _, k := range rs.keep {
			fmt.Fprintf(b, "ufw allow in proto tcp to any port %d comment %s\n", k.Port, shq("kept: "+k.Why))
		}
		b.WriteString("ufw default deny incoming\n")
	} else {
		b.WriteString("# Only allow rules: the default policy is left as it is (--default-drop sets deny incoming).\n")
	}
	for _, r := range rs.Rules {
		if r.reply {
			continue
		}
		from, to := r.Remote+portWord(r.RemotePorts), "any"+portWord(r.LocalPorts)
		if r.Direction == Out {
			from, to = "any"+portWord(r.LocalPorts), r.Remote+portWord(r.RemotePorts)
		}
		fmt.Fprintf(b, "ufw allow %s proto tcp from %s to %s comment %s\n", r.Direction, from, to, shq(r.Purpose))
	}
	return nil
}

func portWord(s string) string {
	if s == Any {
		return ""
	}
	return " port " + iptRange(s)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func renderFirewalld(b *strings.Builder, rs *Ruleset) error {
	if err := checkAddrs(rs, "firewalld"); err != nil {
		return err
	}
	b.WriteString("#!/bin/sh\n")
	header(b, "#", rs)
	statefulNote(b, "#", "firewalld", rs)
	forwardNote(b, "#", rs)
	b.WriteString("set -e\n")
	var svc, rich, out []Rule
	for _, r := range rs.Rules {
		switch {
		case r.reply:
		case r.Direction == Out:
			out = append(out, r)
		case r.Remote == Any && r.remotePorts.Low == 0 && r.local.Low != 0:
			svc = append(svc, r)
		default:
			rich = append(rich, r)
		}
	}
	if len(svc) > 0 {
		b.WriteString("cat > /etc/firewalld/services/ferry.xml <<'EOF'\n")
		b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<service>\n  <short>ferry</short>\n")
		purposes := make([]string, len(svc))
		for i, r := range svc {
			purposes[i] = r.Purpose
		}
		fmt.Fprintf(b, "  <description>ferry file transfer server: %s</description>\n", xmlEscape(strings.Join(purposes, "; ")))
		for _, r := range svc {
			fmt.Fprintf(b, "  <port protocol=\"tcp\" port=\"%s\"/>\n", r.LocalPorts)
		}
		b.WriteString("</service>\nEOF\nfirewall-cmd --reload\nfirewall-cmd --permanent --add-service=ferry\n")
	}
	seen := map[string]bool{}
	for _, r := range rich {
		v6, _ := family(r.Remote, "firewalld")
		fam := "ipv4"
		if v6 {
			fam = "ipv6"
		}
		port := "1-65535"
		if r.local.Low != 0 {
			port = r.LocalPorts
		}
		fmt.Fprintf(b, "# %s (rich rules cannot also match the source port %s)\n", r.Purpose, r.RemotePorts)
		rr := fmt.Sprintf(`rule family="%s" source address="%s" port port="%s" protocol="tcp" accept`, fam, r.Remote, port)
		if !seen[rr] {
			seen[rr] = true
			fmt.Fprintf(b, "firewall-cmd --permanent --add-rich-rule=%s\n", shq(rr))
		}
	}
	b.WriteString("firewall-cmd --reload\n")
	if len(out) > 0 {
		b.WriteString("# firewalld lets outbound traffic pass unless you add policies; ferry's outbound flows are:\n")
		for _, r := range out {
			fmt.Fprintf(b, "#   %s  (%s)\n", describe(r), r.Purpose)
		}
	}
	return nil
}

// psq quotes s for PowerShell.
func psq(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func renderWindows(b *strings.Builder, rs *Ruleset) error {
	if err := checkAddrs(rs, "windows"); err != nil {
		return err
	}
	header(b, "#", rs)
	statefulNote(b, "#", "Windows Firewall", rs)
	forwardNote(b, "#", rs)
	b.WriteString("# Run in an elevated PowerShell; remove with: Remove-NetFirewallRule -Group 'ferry'\n")
	for _, r := range rs.Rules {
		if r.reply {
			continue
		}
		dir := "Inbound"
		if r.Direction == Out {
			dir = "Outbound"
		}
		line := fmt.Sprintf("New-NetFirewallRule -DisplayName %s -Group 'ferry' -Direction %s -Action Allow -Protocol TCP",
			psq("ferry: "+r.Purpose), dir)
		if r.local.Low != 0 {
			line += " -LocalPort " + r.LocalPorts
		}
		if r.Remote != Any {
			line += " -RemoteAddress " + r.Remote
		}
		if r.remotePorts.Low != 0 {
			line += " -RemotePort " + r.RemotePorts
		}
		b.WriteString(line + "\n")
	}
	return nil
}
