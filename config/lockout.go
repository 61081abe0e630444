package config

import (
	"fmt"
	"net/netip"
)

func (l *Lockout) validate() error {
	if l.MaxDuration.Duration < l.Duration.Duration {
		return keyErr("lockout.max_duration", "%s: must be at least lockout.duration (%s)", l.MaxDuration.Duration, l.Duration.Duration)
	}
	for _, w := range []struct {
		key string
		v   int
	}{{"lockout.escape_weight", l.EscapeWeight}, {"lockout.unknown_user_weight", l.UnknownUserWeight},
		{"lockout.command_weight", l.CommandWeight}, {"lockout.data_weight", l.DataWeight}} {
		if w.v < 0 {
			return keyErr(w.key, "%d: must be 0 or more", w.v)
		}
	}
	if l.IPv6Prefix < 1 || l.IPv6Prefix > 128 {
		return keyErr("lockout.ipv6_prefix", "%d: must be 1 to 128", l.IPv6Prefix)
	}
	if l.UserFailures < 0 || l.UserDelay.Duration < 0 {
		return keyErr("lockout.user_failures", "user_failures and user_delay must be 0 or more")
	}
	for _, k := range []struct {
		key  string
		nets []string
	}{{"lockout.allow", l.Allow}, {"lockout.deny", l.Deny}} {
		if _, err := Prefixes(k.nets); err != nil {
			return keyErr(k.key, "%v", err)
		}
	}
	return nil
}

// Prefixes parses addresses and CIDR prefixes ("10.0.0.0/8", "192.0.2.7").
func Prefixes(nets []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(nets))
	for _, n := range nets {
		if p, err := netip.ParsePrefix(n); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(n)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix", n)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
