package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"crypto/tls"
)

// TestUserChangesTakeEffect: `ferry user passwd` ends the user's live
// sessions in every protocol and revokes its bearer tokens within seconds;
// `user set --disabled` refuses every login until `--enabled`.
func TestUserChangesTakeEffect(t *testing.T) {
	s := newServer(t, nil)
	const pw, pw2 = "first-password-1", "second-password-2"
	s.addUser("alice", pw)
	s.start()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	base := "https://" + s.addr(s.Cfg.HTTP.HTTPSPort)
	req, _ := http.NewRequest("POST", base+"/api/v1/token", nil)
	req.SetBasicAuth("alice", pw)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if tok.Token == "" {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	withToken := func() int {
		req, _ := http.NewRequest("GET", base+"/api/v1/files/", nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := withToken(); st != http.StatusOK {
		t.Fatalf("token before passwd: %d", st)
	}
	sftp, err := s.dial("sftp", "alice", pw, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer sftp.Close()
	ftps, err := s.dial("ftps", "alice", pw, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ftps.Close()

	if out, err := s.ferry(pw2+"\n", "user", "passwd", "alice", "--password-stdin"); err != nil {
		t.Fatalf("passwd: %v\n%s", err, out)
	}
	if !s.waitLog("account changed", 10*time.Second) {
		t.Fatalf("the running server did not notice the change:\n%s", s.Logs())
	}
	if st := withToken(); st != http.StatusUnauthorized {
		t.Errorf("the old token after passwd: %d, want 401", st)
	}
	if _, err := sftp.Stat("/"); err == nil {
		t.Error("the SFTP session lives on after passwd")
	}
	if _, err := ftps.Stat("/"); err == nil {
		t.Error("the FTPS session lives on after passwd")
	}
	if _, err := s.dial("sftp", "alice", pw, 10*time.Second); err == nil {
		t.Error("the old password still logs in")
	}

	if out, err := s.ferry("", "user", "set", "alice", "--disabled"); err != nil {
		t.Fatalf("set --disabled: %v\n%s", err, out)
	}
	if out, _ := s.ferry("", "user", "show", "alice"); !strings.Contains(out, "state:    disabled") {
		t.Errorf("user show:\n%s", out)
	}
	for _, scheme := range []string{"ftps", "sftp", "https"} {
		if c, err := s.dial(scheme, "alice", pw2, 10*time.Second); err == nil {
			if scheme != "https" { // the REST client checks credentials on first use
				c.Close()
				t.Errorf("a disabled user logs in over %s", scheme)
			} else if _, err := c.Stat("/"); err == nil {
				t.Errorf("a disabled user logs in over %s", scheme)
			}
		}
	}
	if out, err := s.ferry("", "user", "set", "alice", "--enabled"); err != nil {
		t.Fatalf("set --enabled: %v\n%s", err, out)
	}
	c, err := s.dial("sftp", "alice", pw2, 10*time.Second)
	if err != nil {
		t.Fatalf("enabled again: %v", err)
	}
	c.Close()
}
