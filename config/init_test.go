package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/BurntSushi/toml"
)

// TestTemplate: the file `ferry init` writes parses to the defaults and
// names every key there is, so an administrator sees them all.
func TestTemplate(t *testing.T) {
	c, err := Parse(template)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("the template differs from the defaults:\n%+v\n%+v", c, want)
	}
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(want); err != nil {
		t.Fatal(err)
	}
	md, err := toml.Decode(b.String(), new(Config))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range md.Keys() {
		if len(k) == 0 || md.Type(k...) == "Hash" || md.Type(k...) == "ArrayHash" {
			continue
		}
		name := k[len(k)-1]
		if !regexp.MustCompile(`(?m)^#? *` + regexp.QuoteMeta(name) + ` +=`).Match(template) {
			t.Errorf("the template lacks key %s", k)
		}
	}
}

func TestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc")
	path, err := Init(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != filepath.Join(dir, "ferry-data") {
		t.Errorf("data_dir %s, want it beside the file", c.DataDir)
	}
	if fi, err := os.Stat(c.DataDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data_dir: %v %v, want a 0700 folder", fi.Mode(), err)
	}
	if _, err := Init(dir); !errors.Is(err, ErrExists) {
		t.Errorf("second init: %v, want ErrExists", err)
	}
}
