package testutil

import "testing"

func TestNeedSkipsOutsideCI(t *testing.T) {
	t.Setenv("CI", "")
	var sub *testing.T
	t.Run("missing", func(t *testing.T) {
		sub = t
		Need(t, "sh", "ferry-no-such-program")
		t.Fatal("Need returned although a program is missing")
	})
	if !sub.Skipped() {
		t.Fatal("a missing program outside CI does not skip")
	}
	Need(t, "sh") // present: returns
}
