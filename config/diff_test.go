package config

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	a, b := Default(), Default()
	if d := Diff(a, b); len(d) != 0 {
		t.Fatalf("equal configs differ in %v", d)
	}
	b.LogLevel = "debug"
	b.Limits.MaxPrelogin = 5
	b.FTP.PassiveOverride = []PassiveOverride{{Networks: []string{"10.0.0.0/8"}}}
	want := []string{"ftp.passive_override", "limits.max_prelogin", "log_level"}
	if d := Diff(a, b); !reflect.DeepEqual(d, want) {
		t.Fatalf("Diff = %v, want %v", d, want)
	}
}
