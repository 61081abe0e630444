package limit

import (
	"errors"
	"net"
	"testing"
)

func TestLimiter(t *testing.T) {
	l := New(3, 2)
	a, b := net.ParseIP("127.0.0.1"), net.ParseIP("::1")
	r1, err := l.Acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(a); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(a); !errors.Is(err, ErrTooManyFromIP) {
		t.Fatalf("third from one IP: %v", err)
	}
	if _, err := l.Acquire(b); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(net.ParseIP("127.0.0.2")); !errors.Is(err, ErrTooMany) {
		t.Fatalf("over the total: %v", err)
	}
	r1()
	r1()
	if _, err := l.Acquire(a); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if _, err := l.Acquire(a); err == nil {
		t.Fatal("double release freed two slots")
	}
}
