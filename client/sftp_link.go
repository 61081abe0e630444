package client

import (
	"errors"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshLink is one SSH connection: one TCP stream and one login, carrying
// one or more SFTP sessions, each on a channel of its own with its own
// flow-control window.
type sshLink struct {
	// ready is closed once the connection is up (c set) or failed (c nil).
	ready chan struct{}
	c     *ssh.Client
	rt    time.Duration // TCP connect time: one round trip
	// The fields below are guarded by the family's mutex.
	sessions int  // open sessions, and reservations for them
	dead     bool // the connection ended, or its last session closed
}

// sftpFamily is the set of links of one server that a first connection
// and its clones share: a clone opens a channel on a link with room
// before it dials (and logs in) again.
type sftpFamily struct {
	mu    sync.Mutex
	links []*sshLink
}

// sessionsPerLink is how many SFTP sessions share one SSH connection. A
// session carries at most one channel window (x/crypto/ssh: 2 MiB) per
// round trip, 39 MB/s at 50 ms; one Linux TCP stream with the default
// buffers about 51 MB/s (../shared/LAB.md, measured with tundelay). Two
// sessions a connection fill the stream, and a clone that opens a channel
// costs one round trip and no login, where a new connection costs about
// ten round trips and the server a password hash.
const sessionsPerLink = 2

// pending adds a link about to be dialled, its first session counted,
// so that clones asked for at the same moment wait for it rather than
// each dial one; up then says how the dial went.
func (f *sftpFamily) pending() *sshLink {
	l := &sshLink{ready: make(chan struct{}), sessions: 1}
	f.mu.Lock()
	f.links = append(f.links, l)
	f.mu.Unlock()
	return l
}

// up records the dial of l: c, or nil when it failed.
func (f *sftpFamily) up(l *sshLink, c *ssh.Client, rt time.Duration) {
	if c == nil {
		f.mu.Lock()
		l.dead = true
		f.drop(l)
		f.mu.Unlock()
		close(l.ready)
		return
	}
	l.c, l.rt = c, rt
	close(l.ready)
	go func() {
		c.Wait()
		f.mu.Lock()
		l.dead = true
		f.mu.Unlock()
	}()
}

// reserve picks a live (or coming) link with room for one more session,
// counts it and waits until the link is up; nil when none has room or
// the one chosen failed.
func (f *sftpFamily) reserve() *sshLink {
	f.mu.Lock()
	var l *sshLink
	for _, x := range f.links {
		if !x.dead && x.sessions < sessionsPerLink {
			l = x
			l.sessions++
			break
		}
	}
	f.mu.Unlock()
	if l == nil {
		return nil
	}
	<-l.ready
	if l.c == nil {
		return nil
	}
	return l
}

// drop forgets l; f.mu is held.
func (f *sftpFamily) drop(l *sshLink) {
	for i, x := range f.links {
		if x == l {
			f.links = append(f.links[:i], f.links[i+1:]...)
			return
		}
	}
}

// release gives back one session of l; the last one closes the
// connection.
func (f *sftpFamily) release(l *sshLink) error {
	f.mu.Lock()
	l.sessions--
	last := l.sessions <= 0
	if last {
		l.dead = true
		f.drop(l)
	}
	f.mu.Unlock()
	if !last || l.c == nil {
		return nil
	}
	if err := l.c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
