package notify

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
)

// Event is the JSON a webhook receives and a command finds in
// FERRY_EVENT_JSON. Fields that do not apply to the kind are left out.
type Event struct {
	ID         string    `json:"id"`   // the same for every rule the event fires; Ferry-Event-Id
	Rule       string    `json:"rule"` // the [[notify]] rule's name
	Event      string    `json:"event"`
	Time       time.Time `json:"time"`
	Service    string    `json:"service,omitempty"`
	Remote     string    `json:"remote,omitempty"` // the client's address
	Session    uint64    `json:"session,omitempty"`
	User       string    `json:"user,omitempty"`
	Path       string    `json:"path,omitempty"`   // virtual path
	Target     string    `json:"target,omitempty"` // rename: the new path
	Bytes      int64     `json:"bytes,omitempty"`
	DurationMS int64     `json:"duration_ms,omitempty"` // transfers; ban: its length
	SHA256     string    `json:"sha256,omitempty"`
	Method     string    `json:"method,omitempty"` // logins
	Reason     string    `json:"reason,omitempty"` // login.failed; ban: the event that tipped it
	Test       bool      `json:"test,omitempty"`   // sent by `ferry events test`
}

// newID is a random event id, 32 hex digits.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// eventOf is the event of a record, for rule.
func eventOf(id, rule string, r *core.Record) Event {
	e := Event{ID: id, Rule: rule, Event: r.Kind, Time: r.Time, Service: string(r.Service), Session: r.Session,
		User: r.User, Path: r.Path, Target: r.Target, Bytes: r.Bytes, DurationMS: r.Duration.Milliseconds(),
		SHA256: r.SHA256, Method: r.Method, Reason: r.Reason}
	if r.Remote.IsValid() {
		e.Remote = r.Remote.Addr().Unmap().String()
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	return e
}

// environ is the environment of a command run for e: the server's own
// without its FERRY_ variables, and the event's.
func (e Event) environ(body []byte) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "FERRY_") })
	for _, kv := range [][2]string{
		{"FERRY_EVENT", e.Event}, {"FERRY_EVENT_ID", e.ID}, {"FERRY_RULE", e.Rule},
		{"FERRY_TIME", e.Time.Format(time.RFC3339Nano)}, {"FERRY_SERVICE", e.Service}, {"FERRY_REMOTE", e.Remote},
		{"FERRY_USER", e.User}, {"FERRY_PATH", e.Path}, {"FERRY_TARGET", e.Target},
		{"FERRY_BYTES", strconv.FormatInt(e.Bytes, 10)}, {"FERRY_SHA256", e.SHA256}, {"FERRY_REASON", e.Reason},
		{"FERRY_EVENT_JSON", string(body)},
	} {
		env = append(env, kv[0]+"="+kv[1])
	}
	return env
}

// fileEvents fire only when they succeeded.
var fileEvents = []string{core.EventUpload, core.EventDownload, core.EventDelete, core.EventRename, core.EventMkdir, core.EventRmdir}

// matches reports whether rule n fires on r.
func matches(n *config.Notify, r *core.Record) bool {
	if !slices.Contains(n.On, r.Kind) {
		return false
	}
	if slices.Contains(fileEvents, r.Kind) && r.Result != core.ResultOK {
		return false
	}
	if len(n.Users) > 0 && !slices.ContainsFunc(n.Users, func(p string) bool {
		ok, _ := path.Match(p, r.User)
		return r.User != "" && ok
	}) {
		return false
	}
	if len(n.Paths) > 0 && !pathMatches(n.Paths, r.Path) && !pathMatches(n.Paths, r.Target) {
		return false
	}
	return true
}

// pathMatches reports whether one of patterns matches p or a folder
// above it: "/incoming" and "/incoming/*" both match
// "/incoming/a/b.txt".
func pathMatches(patterns []string, p string) bool {
	if p == "" {
		return false
	}
	p = path.Clean("/" + p)
	for {
		for _, pat := range patterns {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		}
		if p == "/" {
			return false
		}
		p = path.Dir(p)
	}
}

// marshal is e's JSON.
func (e Event) marshal() []byte {
	b, _ := json.Marshal(e) // an Event always encodes
	return b
}
