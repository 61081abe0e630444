package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/webdav"
)

// proppatch is a PROPPATCH body setting each of props (local name ->
// value) in the namespace "urn:t".
func proppatch(props map[string]string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:t="urn:t"><D:set><D:prop>`)
	for k, v := range props {
		fmt.Fprintf(&b, "<t:%s>%s</t:%s>", k, v, k)
	}
	b.WriteString(`</D:prop></D:set></D:propertyupdate>`)
	return b.String()
}

const propfindAll = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`

// TestDAVDeadProps checks that dead properties are stored, follow a file
// through MOVE and COPY, end with DELETE, and are bounded: a PROPPATCH
// past the bounds is answered 507 and stores nothing.
func TestDAVDeadProps(t *testing.T) {
	ts := startServer(t, nil)
	ts.addUser("alice", false)
	c := ts.client()
	resp, body := ts.do(c, "PUT", "/dav/a.txt", "alice", strings.NewReader("a"))
	expect(t, "PUT", resp, body, http.StatusCreated)
	resp, body = ts.do(c, "PROPPATCH", "/dav/a.txt", "alice", strings.NewReader(proppatch(map[string]string{"colour": "blue"})))
	expect(t, "PROPPATCH", resp, body, http.StatusMultiStatus)
	if !strings.Contains(body, "200 OK") {
		t.Fatalf("PROPPATCH not granted:\n%s", body)
	}
	has := func(what, p string, want bool) {
		t.Helper()
		resp, body := ts.do(c, "PROPFIND", p, "alice", strings.NewReader(propfindAll), "Depth", "0")
		if resp.StatusCode != http.StatusMultiStatus && want {
			t.Fatalf("%s: PROPFIND %s: %d", what, p, resp.StatusCode)
		}
		if got := strings.Contains(body, ">blue</"); got != want {
			t.Errorf("%s: %s holds the property: %v, want %v\n%s", what, p, got, want, body)
		}
	}
	has("after PROPPATCH", "/dav/a.txt", true)
	resp, body = ts.do(c, "PUT", "/dav/a.txt", "alice", strings.NewReader("again"))
	expect(t, "PUT over", resp, body, http.StatusCreated)
	has("after a PUT over the file", "/dav/a.txt", true)
	resp, body = ts.do(c, "MKCOL", "/dav/d", "alice", nil)
	expect(t, "MKCOL", resp, body, http.StatusCreated)
	resp, body = ts.do(c, "MOVE", "/dav/a.txt", "alice", nil, "Destination", ts.base+"/dav/d/b.txt")
	expect(t, "MOVE", resp, body, http.StatusCreated)
	has("after MOVE, the old name", "/dav/a.txt", false)
	has("after MOVE, the new name", "/dav/d/b.txt", true)
	resp, body = ts.do(c, "MOVE", "/dav/d", "alice", nil, "Destination", ts.base+"/dav/e")
	expect(t, "MOVE of the folder", resp, body, http.StatusCreated)
	has("after the folder's MOVE", "/dav/e/b.txt", true)
	resp, body = ts.do(c, "COPY", "/dav/e/b.txt", "alice", nil, "Destination", ts.base+"/dav/c.txt")
	expect(t, "COPY", resp, body, http.StatusCreated)
	has("the COPY", "/dav/c.txt", true)
	resp, body = ts.do(c, "DELETE", "/dav/e", "alice", nil)
	expect(t, "DELETE", resp, body, http.StatusNoContent)
	resp, body = ts.do(c, "PUT", "/dav/e/b.txt", "alice", strings.NewReader("new"))
	expect(t, "PUT in the deleted folder", resp, body, http.StatusConflict)
	resp, body = ts.do(c, "MKCOL", "/dav/e", "alice", nil)
	expect(t, "MKCOL again", resp, body, http.StatusCreated)
	resp, body = ts.do(c, "PUT", "/dav/e/b.txt", "alice", strings.NewReader("new"))
	expect(t, "PUT of a new file", resp, body, http.StatusCreated)
	has("a new file under a deleted name", "/dav/e/b.txt", false)

	// Hostile: more properties on one resource than davPropsPerResource.
	many := map[string]string{}
	for i := range davPropsPerResource + 1 {
		many[fmt.Sprintf("p%d", i)] = "x"
	}
	resp, body = ts.do(c, "PROPPATCH", "/dav/c.txt", "alice", strings.NewReader(proppatch(many)))
	expect(t, "PROPPATCH of too many", resp, body, http.StatusMultiStatus)
	if !strings.Contains(body, "507") || strings.Contains(body, "200 OK") {
		t.Errorf("PROPPATCH of %d properties:\n%.400s", len(many), body)
	}
	has("after the refused PROPPATCH", "/dav/c.txt", true)
	// Hostile: more bytes than davPropsBytes, 900 KiB at a time.
	big := strings.Repeat("y", 900<<10)
	refused := 0
	for i := range davPropsBytes/len(big) + 2 {
		p := fmt.Sprintf("/dav/big%d", i)
		resp, body = ts.do(c, "PUT", p, "alice", strings.NewReader("b"))
		expect(t, "PUT", resp, body, http.StatusCreated)
		resp, body = ts.do(c, "PROPPATCH", p, "alice", strings.NewReader(proppatch(map[string]string{"big": big})))
		expect(t, "PROPPATCH of 900 KiB", resp, body, http.StatusMultiStatus)
		if strings.Contains(body, "507") {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d of the 900 KiB PROPPATCHes refused, want 2 (the bound is %d bytes)", refused, davPropsBytes)
	}
	// A body past davMaxBody, and a namespace prefix bound to "".
	resp, body = ts.do(c, "PROPPATCH", "/dav/c.txt", "alice", strings.NewReader(proppatch(map[string]string{"huge": strings.Repeat("z", davMaxBody)})))
	expect(t, "PROPPATCH over 1 MiB", resp, body, http.StatusRequestEntityTooLarge)
	resp, body = ts.do(c, "PROPFIND", "/dav/c.txt", "alice", strings.NewReader(`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><bar:foo xmlns:bar=""/></D:prop></D:propfind>`), "Depth", "0")
	expect(t, "PROPFIND with xmlns:bar=\"\"", resp, body, http.StatusBadRequest)
}

// TestDAVLockBounds checks that a client cannot hold more than
// davMaxLocks locks, nor one that outlives davMaxLockTimeout.
func TestDAVLockBounds(t *testing.T) {
	ts := startServer(t, nil)
	ts.addUser("alice", false)
	c := ts.client()
	lock := `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`
	resp, body := ts.do(c, "LOCK", "/dav/inf", "alice", strings.NewReader(lock), "Timeout", "Infinite, Second-4100000000")
	expect(t, "LOCK Infinite", resp, body, http.StatusCreated)
	if !strings.Contains(body, "<D:timeout>Second-3600</D:timeout>") {
		t.Errorf("an Infinite LOCK was not given an hour:\n%s", body)
	}
	first := resp.Header.Get("Lock-Token")
	start := time.Now()
	for i := 1; i < davMaxLocks; i++ {
		resp, body = ts.do(c, "LOCK", fmt.Sprintf("/dav/l%d", i), "alice", strings.NewReader(lock), "Timeout", "Second-600")
		expect(t, "LOCK", resp, body, http.StatusCreated)
	}
	t.Logf("%d LOCKs in %v", davMaxLocks, time.Since(start))
	resp, body = ts.do(c, "LOCK", "/dav/one-more", "alice", strings.NewReader(lock), "Timeout", "Second-600")
	expect(t, "LOCK past the bound", resp, body, http.StatusInsufficientStorage)
	// A write without a lock still takes the library's own lock and works.
	resp, body = ts.do(c, "PUT", "/dav/free.txt", "alice", strings.NewReader("x"))
	expect(t, "PUT beside the full lock table", resp, body, http.StatusCreated)
	resp, body = ts.do(c, "UNLOCK", "/dav/inf", "alice", nil, "Lock-Token", first)
	expect(t, "UNLOCK", resp, body, http.StatusNoContent)
	resp, body = ts.do(c, "LOCK", "/dav/one-more", "alice", strings.NewReader(lock), "Timeout", "Second-600")
	expect(t, "LOCK after an UNLOCK", resp, body, http.StatusCreated)
}

// TestDAVLockExpiry checks that expired locks are pruned and free their
// place in the bound, on the lock table itself with a moving clock.
func TestDAVLockExpiry(t *testing.T) {
	tab := &davLockTable{ls: webdav.NewMemLS()}
	v := davLockView{t: tab, d: &davFS{}}
	now := time.Now()
	for i := range davMaxLocks {
		if _, err := v.Create(now, webdav.LockDetails{Root: fmt.Sprintf("/f%d", i), Duration: 24 * time.Hour, ZeroDepth: true}); err != nil {
			t.Fatalf("lock %d: %v", i, err)
		}
	}
	if _, err := v.Create(now, webdav.LockDetails{Root: "/x", Duration: time.Minute, ZeroDepth: true}); err != errTooManyLocks {
		t.Fatalf("lock past the bound: %v, want errTooManyLocks", err)
	}
	later := now.Add(davMaxLockTimeout + time.Second) // the 24 h were cut to davMaxLockTimeout
	if _, err := v.Create(later, webdav.LockDetails{Root: "/x", Duration: time.Minute, ZeroDepth: true}); err != nil {
		t.Fatalf("lock after the others expired: %v", err)
	}
	if n := tab.count(later); n != 1 {
		t.Errorf("%d locks held after expiry, want 1", n)
	}
}
