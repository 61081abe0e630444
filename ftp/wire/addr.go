package wire

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParsePORT reads the argument of PORT, "h1,h2,h3,h4,p1,p2" (RFC 959).
func ParsePORT(arg string) (netip.AddrPort, error) {
	f := strings.Split(strings.TrimSpace(arg), ",")
	if len(f) != 6 {
		return netip.AddrPort{}, fmt.Errorf("%w: PORT wants h1,h2,h3,h4,p1,p2", ErrSyntax)
	}
	var b [6]byte
	for i, s := range f {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 8)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: PORT field %q is not 0-255", ErrSyntax, truncate(s))
		}
		b[i] = byte(n)
	}
	port := uint16(b[4])<<8 | uint16(b[5])
	if port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: PORT names port 0", ErrSyntax)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), port), nil
}

// FormatPORT writes an IPv4 address and port as "h1,h2,h3,h4,p1,p2"; the
// text of a PORT argument and of a 227 reply.
func FormatPORT(ap netip.AddrPort) (string, error) {
	a := ap.Addr().Unmap()
	if !a.Is4() {
		return "", fmt.Errorf("ftp: %s is not an IPv4 address: PORT and PASV carry IPv4 only", a)
	}
	b := a.As4()
	p := ap.Port()
	return fmt.Sprintf("%d,%d,%d,%d,%d,%d", b[0], b[1], b[2], b[3], p>>8, p&0xFF), nil
}

// FormatPASV is the 227 reply text for an address and port.
func FormatPASV(ap netip.AddrPort) (string, error) {
	s, err := FormatPORT(ap)
	if err != nil {
		return "", err
	}
	return "Entering Passive Mode (" + s + ").", nil
}

// ParsePASV finds the address in a 227 reply text. RFC 959 leaves the
// layout open, so it takes the first run of six comma-separated numbers,
// with or without parentheses.
func ParsePASV(text string) (netip.AddrPort, error) {
	start := strings.IndexAny(text, "0123456789")
	for start >= 0 && start < len(text) {
		end := start
		for end < len(text) && (text[end] == ',' || text[end] >= '0' && text[end] <= '9') {
			end++
		}
		if ap, err := ParsePORT(text[start:end]); err == nil {
			return ap, nil
		}
		next := strings.IndexAny(text[end:], "0123456789")
		if next < 0 {
			break
		}
		start = end + next
	}
	return netip.AddrPort{}, fmt.Errorf("%w: no address in PASV reply %q", ErrSyntax, truncate(text))
}

// ParseEPRT reads the argument of EPRT, "<d>proto<d>addr<d>port<d>" (RFC
// 2428), where proto 1 is IPv4 and 2 is IPv6. The delimiter is any
// printable ASCII character other than a digit.
func ParseEPRT(arg string) (netip.AddrPort, error) {
	if len(arg) < 1 {
		return netip.AddrPort{}, fmt.Errorf("%w: empty EPRT argument", ErrSyntax)
	}
	d := arg[0]
	if d < 33 || d > 126 || d >= '0' && d <= '9' {
		return netip.AddrPort{}, fmt.Errorf("%w: bad EPRT delimiter", ErrSyntax)
	}
	f := strings.Split(arg, string(d))
	if len(f) != 5 || f[0] != "" || f[4] != "" {
		return netip.AddrPort{}, fmt.Errorf("%w: EPRT wants |proto|address|port|", ErrSyntax)
	}
	if f[1] != "1" && f[1] != "2" {
		return netip.AddrPort{}, fmt.Errorf("%w: %w", ErrSyntax, ErrProtocol)
	}
	a, err := netip.ParseAddr(f[2])
	if err != nil || a.Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%w: EPRT address %q", ErrSyntax, truncate(f[2]))
	}
	if f[1] == "1" && !a.Is4() {
		return netip.AddrPort{}, fmt.Errorf("%w: EPRT protocol 1 needs an IPv4 address", ErrSyntax)
	}
	if f[1] == "2" && (!a.Is6() || a.Is4In6()) {
		return netip.AddrPort{}, fmt.Errorf("%w: EPRT protocol 2 needs an IPv6 address", ErrSyntax)
	}
	port, err := strconv.ParseUint(f[3], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("%w: EPRT port %q", ErrSyntax, truncate(f[3]))
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// ErrProtocol is wrapped when EPRT names a network protocol other than 1
// (IPv4) or 2 (IPv6); servers answer it with 522.
var ErrProtocol = errors.New("network protocol not supported, use (1,2)")

// FormatEPRT writes the EPRT argument for an address and port.
func FormatEPRT(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	proto := "2"
	if a.Is4() {
		proto = "1"
	}
	return "|" + proto + "|" + a.WithZone("").String() + "|" + strconv.Itoa(int(ap.Port())) + "|"
}

// FormatEPSV is the 229 reply text for a port.
func FormatEPSV(port uint16) string {
	return "Entering Extended Passive Mode (|||" + strconv.Itoa(int(port)) + "|)."
}

// ParseEPSV finds the port in a 229 reply text: "(<d><d><d>port<d>)".
func ParseEPSV(text string) (uint16, error) {
	open := strings.IndexByte(text, '(')
	end := strings.LastIndexByte(text, ')')
	if open < 0 || end < open+5 {
		return 0, fmt.Errorf("%w: no port in EPSV reply %q", ErrSyntax, truncate(text))
	}
	in := text[open+1 : end]
	d := in[0]
	f := strings.Split(in, string(d))
	if len(f) != 5 || f[0] != "" || f[1] != "" || f[2] != "" || f[4] != "" {
		return 0, fmt.Errorf("%w: EPSV reply %q", ErrSyntax, truncate(text))
	}
	port, err := strconv.ParseUint(f[3], 10, 16)
	if err != nil || port == 0 {
		return 0, fmt.Errorf("%w: EPSV port %q", ErrSyntax, truncate(f[3]))
	}
	return uint16(port), nil
}
