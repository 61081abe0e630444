package auth

import (
	"strings"
	"testing"
)

// TestDummyHashParameters: the hash checked for unknown names costs what
// a real one costs, and is a valid hash (of its own password).
func TestDummyHashParameters(t *testing.T) {
	real, err := HashPassword("x")
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if params(dummyHash) != params(real) {
		t.Fatalf("dummy hash parameters %q, real ones %q", params(dummyHash), params(real))
	}
	if !CheckPassword(dummyHash, "ferry-no-such-user") || CheckPassword(dummyHash, "x") {
		t.Fatal("the dummy hash does not verify as a hash of its own password")
	}
}
