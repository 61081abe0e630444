package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestNotifyTemplate: the template's commented [[notify]] example names
// every key of a rule (TestTemplate cannot see the keys of an empty
// table array).
func TestNotifyTemplate(t *testing.T) {
	typ := reflect.TypeFor[Notify]()
	for i := range typ.NumField() {
		name := typ.Field(i).Tag.Get("toml")
		if !regexp.MustCompile(`(?m)^# ` + regexp.QuoteMeta(name) + ` +=`).Match(template) {
			t.Errorf("the template lacks notify key %s", name)
		}
	}
	if !strings.Contains(string(template), "# [[notify]]") {
		t.Error("the template lacks the [[notify]] example")
	}
}

// TestNotifyRules: good rules load, with relative files taken from the
// configuration's folder; each bad rule is refused naming its key.
func TestNotifyRules(t *testing.T) {
	good := `
[[notify]]
name = "in"
on = ["upload", "ban", "share.used"]
users = ["partner-*"]
paths = ["/incoming/*"]
webhook = "https://hooks.example.com/x"
secret_file = "hook.secret"
ca_file = "ca.pem"
timeout = "3s"

[[notify]]
name = "run"
on = ["download"]
command = ["/usr/local/bin/x", "arg"]
`
	dir := t.TempDir()
	p := filepath.Join(dir, "ferry.toml")
	if err := os.WriteFile(p, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notify) != 2 || c.Notify[0].SecretFile != filepath.Join(dir, "hook.secret") || c.Notify[0].CAFile != filepath.Join(dir, "ca.pem") ||
		c.Notify[0].Timeout.Seconds() != 3 || c.Notify[1].Command[1] != "arg" {
		t.Fatalf("rules: %+v", c.Notify)
	}
	hook := "[[notify]]\nname = \"h\"\non = [\"upload\"]\nwebhook = \"https://h.example/x\"\nsecret = \"k\"\n"
	for _, tc := range []struct{ toml, key string }{
		{"[[notify]]\nname = \"a b\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\n", "notify[0].name"},
		{"[[notify]]\nname = \"\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\n", "notify[0].name"},
		{hook + hook, "notify.h.name"},
		{"[[notify]]\nname = \"x\"\ncommand = [\"/bin/true\"]\n", "notify.x.on"},
		{"[[notify]]\nname = \"x\"\non = [\"uploads\"]\ncommand = [\"/bin/true\"]\n", "notify.x.on"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\n", "notify.x.webhook"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\ncommand = [\"true\"]\n", "notify.x.command"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\nsecret = \"k\"\n", "notify.x.secret"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\nwebhook = \"https://h/\"\nsecret = \"k\"\n", "notify.x.command"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\nwebhook = \"http://h.example/x\"\nsecret = \"k\"\n", "notify.x.webhook"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\nwebhook = \"https://h.example/x\"\n", "notify.x.secret"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\nwebhook = \"https://h.example/x\"\nsecret = \"k\"\nsecret_file = \"f\"\n", "notify.x.secret"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\npaths = [\"incoming\"]\n", "notify.x.paths"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\npaths = [\"/in[\"]\n", "notify.x.paths"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\nusers = [\"[\"]\n", "notify.x.users"},
		{"[[notify]]\nname = \"x\"\non = [\"upload\"]\ncommand = [\"/bin/true\"]\ntimeout = \"1h\"\n", "notify.x.timeout"},
	} {
		_, err := Parse([]byte(tc.toml))
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tc.key {
			t.Errorf("%q: got %v, want an error naming %s", tc.toml, err, tc.key)
		}
	}
}
