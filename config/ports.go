package config

import (
	"fmt"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of TCP ports.
type PortRange struct{ Low, High int }

// ParsePortRange reads "LOW-HIGH" or a single port.
func ParsePortRange(s string) (PortRange, error) {
	lo, hi, found := strings.Cut(strings.TrimSpace(s), "-")
	if !found {
		hi = lo
	}
	l, err1 := strconv.Atoi(strings.TrimSpace(lo))
	h, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return PortRange{}, fmt.Errorf("%q is not a port range such as \"28000-30000\"", s)
	}
	if l < 1 || l > 65535 || h < 1 || h > 65535 {
		return PortRange{}, fmt.Errorf("%q: ports must be within 1-65535", s)
	}
	if h < l {
		return PortRange{}, fmt.Errorf("%q is reversed: the low port comes first", s)
	}
	return PortRange{l, h}, nil
}

// Contains reports whether p is inside the range.
func (r PortRange) Contains(p int) bool { return p >= r.Low && p <= r.High }

// Size is the number of ports in the range.
func (r PortRange) Size() int { return r.High - r.Low + 1 }

func (r PortRange) String() string {
	if r.Low == r.High {
		return strconv.Itoa(r.Low)
	}
	return fmt.Sprintf("%d-%d", r.Low, r.High)
}
