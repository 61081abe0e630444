package core

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

type sinkRecords struct {
	mu sync.Mutex
	rs []Record
}

func (s *sinkRecords) Record(r *Record) {
	s.mu.Lock()
	s.rs = append(s.rs, *r)
	s.mu.Unlock()
}

// line is a record in a comparable form, without times.
func line(r Record) string {
	return fmt.Sprintf("%s s=%d %s %s user=%s method=%s path=%s target=%s bytes=%d result=%s reason=%s sha=%t err=%t",
		r.Kind, r.Session, r.Service, r.Remote.Addr(), r.User, r.Method, r.Path, r.Target, r.Bytes, r.Result, r.Reason, r.SHA256 != "", r.Err != "")
}

// TestSinks: every event reaches the sinks once, in order, with the
// session, service, remote address and user: a refusal at admission, a
// failed login, the login, file changes made through the session's file
// system, a transfer, an escape refused, and the session's end.
func TestSinks(t *testing.T) {
	c := config.Default()
	c.Lockout.MaxFailures = 1
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := &sinkRecords{}
	a := &auth.Authenticator{Lockout: auth.NewLockout(1, time.Minute, time.Minute)}
	cr, err := New(Options{Config: c, Auth: a, Log: slog.New(slog.DiscardHandler), Sinks: []Sink{sink}, Digests: true})
	if err != nil {
		t.Fatal(err)
	}
	d := newDialer(t)
	cn, err := cr.Admit(d.conn("127.0.3.1"), listen.SFTP)
	if err != nil {
		t.Fatal(err)
	}
	if !cn.Digests() {
		t.Error("Digests() = false with Options.Digests")
	}
	cn.Failed("mallory", "publickey") // locks 127.0.3.1 out (max 1 failure)
	if _, err := cr.Admit(d.conn("127.0.3.1"), listen.FTP); err == nil {
		t.Fatal("a locked-out address was admitted")
	}
	home := t.TempDir()
	if err := cn.Begin(store.User{Name: "alice", Home: home}, "password"); err != nil {
		t.Fatal(err)
	}
	fsys := cn.FS()
	fsys.Mkdir("/d")
	fsys.Rename("/d", "/e")
	fsys.Rmdir("/e")
	fsys.Remove("/missing")
	os.WriteFile(home+"/f", []byte("x"), 0o600)
	fsys.Chmod("/f", 0o640)
	cn.Emit(Event{Kind: EventUpload, Path: "/f", Bytes: 1, SHA256: "ab"})
	cn.Emit(Event{Kind: EventDownload, Path: "/f", Bytes: 0, Result: ResultAborted, SHA256: "ab"})
	cn.Refuse("/../etc", "outside the home")
	cn.Close()
	cn.Close()
	n := cn.ID
	want := []string{
		fmt.Sprintf("login.failed s=%d sftp 127.0.3.1 user=mallory method=publickey path= target= bytes=0 result= reason=denied sha=false err=false", n),
		"refused s=0 ftp 127.0.3.1 user= method= path= target= bytes=0 result= reason=locked out sha=false err=false",
		fmt.Sprintf("login.ok s=%d sftp 127.0.3.1 user=alice method=password path= target= bytes=0 result= reason= sha=false err=false", n),
		fmt.Sprintf("mkdir s=%d sftp 127.0.3.1 user=alice method= path=/d target= bytes=0 result=ok reason= sha=false err=false", n),
		fmt.Sprintf("rename s=%d sftp 127.0.3.1 user=alice method= path=/d target=/e bytes=0 result=ok reason= sha=false err=false", n),
		fmt.Sprintf("rmdir s=%d sftp 127.0.3.1 user=alice method= path=/e target= bytes=0 result=ok reason= sha=false err=false", n),
		fmt.Sprintf("delete s=%d sftp 127.0.3.1 user=alice method= path=/missing target= bytes=0 result=failed reason= sha=false err=true", n),
		fmt.Sprintf("setstat s=%d sftp 127.0.3.1 user=alice method= path=/f target= bytes=0 result=ok reason= sha=false err=false", n),
		fmt.Sprintf("upload s=%d sftp 127.0.3.1 user=alice method= path=/f target= bytes=1 result=ok reason= sha=true err=false", n),
		// an aborted transfer did not pass whole: no digest
		fmt.Sprintf("download s=%d sftp 127.0.3.1 user=alice method= path=/f target= bytes=0 result=aborted reason= sha=false err=false", n),
		fmt.Sprintf("refused s=%d sftp 127.0.3.1 user=alice method= path=/../etc target= bytes=0 result= reason=outside the home sha=false err=false", n),
		fmt.Sprintf("session.end s=%d sftp 127.0.3.1 user=alice method=password path= target= bytes=0 result= reason= sha=false err=false", n),
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	var got []string
	for _, r := range sink.rs {
		got = append(got, line(r))
		if r.Time.IsZero() || r.Time.Location() != time.UTC {
			t.Errorf("%s: time %v, want UTC", r.Kind, r.Time)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
