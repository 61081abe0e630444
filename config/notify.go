package config

import (
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// Notify is one [[notify]] rule: the events it fires on, for which users
// and paths, and what it calls, a webhook or a command (exactly one).
type Notify struct {
	Name  string   `toml:"name"`  // for the log and `ferry events test NAME`
	On    []string `toml:"on"`    // event kinds, of NotifyEvents
	Users []string `toml:"users"` // globs on user names; none: every user (and events without one)
	// Paths are globs on virtual paths ("/incoming/*"); a pattern matches
	// a path or any folder above it. None: any path (and events without
	// one).
	Paths []string `toml:"paths"`
	// Webhook is the https:// URL the event is posted to, signed with the
	// HMAC-SHA256 key of Secret or of the file SecretFile; CAFile is a CA
	// to trust beside the system's (a private receiver).
	Webhook    string `toml:"webhook"`
	Secret     string `toml:"secret"`
	SecretFile string `toml:"secret_file"`
	CAFile     string `toml:"ca_file"`
	// Command is run without a shell (argv[0] an absolute path), with the
	// event in its environment.
	Command []string `toml:"command"`
	// Timeout bounds one webhook post or one command run; 0: 10 s.
	Timeout Duration `toml:"timeout"`
}

// NotifyEvents are the event kinds a rule may name: the core's completed
// transfers, file changes and logins (core.Event*), the defender's bans,
// and the share links' uses. File events fire only when they succeeded.
var NotifyEvents = []string{"upload", "download", "delete", "rename", "mkdir", "rmdir",
	"login.ok", "login.failed", "ban", "share.used"}

// MaxNotifyTimeout is the longest notify timeout.
const MaxNotifyTimeout = 5 * time.Minute

var ruleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validateNotify checks every rule and names the first bad key.
func validateNotify(rules []Notify) error {
	seen := map[string]bool{}
	for i, n := range rules {
		if !ruleName.MatchString(n.Name) {
			return keyErr(fmt.Sprintf("notify[%d].name", i), "%q: want 1-64 letters, digits, '.', '_' or '-'", n.Name)
		}
		if seen[n.Name] {
			return keyErr("notify."+n.Name+".name", "two rules have this name")
		}
		seen[n.Name] = true
		key := func(k string) string { return "notify." + n.Name + "." + k }
		if len(n.On) == 0 {
			return keyErr(key("on"), "name at least one event of %v", NotifyEvents)
		}
		for _, e := range n.On {
			if !slices.Contains(NotifyEvents, e) {
				return keyErr(key("on"), "%q is not an event; want some of %v", e, NotifyEvents)
			}
		}
		for _, p := range n.Users {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return keyErr(key("users"), "%q: not a valid pattern", p)
			}
		}
		for _, p := range n.Paths {
			if _, err := path.Match(p, ""); err != nil || len(p) == 0 || p[0] != '/' {
				return keyErr(key("paths"), "%q: want a pattern starting with /, e.g. \"/incoming/*\"", p)
			}
		}
		if t := n.Timeout.Duration; t < 0 || t > MaxNotifyTimeout {
			return keyErr(key("timeout"), "%s: want 0 (10s) to %s", t, MaxNotifyTimeout)
		}
		if err := n.validateTarget(key); err != nil {
			return err
		}
	}
	return nil
}

// validateTarget checks the webhook or the command of a rule.
func (n *Notify) validateTarget(key func(string) string) error {
	switch {
	case n.Webhook == "" && len(n.Command) == 0:
		return keyErr(key("webhook"), "a rule needs a webhook or a command")
	case n.Webhook != "" && len(n.Command) > 0:
		return keyErr(key("command"), "a rule has a webhook or a command, not both")
	case len(n.Command) > 0:
		if !filepath.IsAbs(n.Command[0]) {
			return keyErr(key("command"), "%q: the program must be an absolute path (it runs without a shell)", n.Command[0])
		}
		if n.Secret != "" || n.SecretFile != "" || n.CAFile != "" {
			return keyErr(key("secret"), "secret, secret_file and ca_file belong to a webhook")
		}
		return nil
	}
	u, err := url.Parse(n.Webhook)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return keyErr(key("webhook"), "want an https:// URL")
	}
	if (n.Secret == "") == (n.SecretFile == "") {
		return keyErr(key("secret"), "a webhook is signed: set secret or secret_file (one of them)")
	}
	return nil
}

// notifyPaths are the rules' file names that a file's folder resolves.
func (c *Config) notifyPaths() []*string {
	var out []*string
	for i := range c.Notify {
		out = append(out, &c.Notify[i].SecretFile, &c.Notify[i].CAFile)
	}
	return out
}
