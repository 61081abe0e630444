package sftp

import (
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// chanDeadline gives an SSH channel, which has no deadlines, the one that
// core.Transfer's stall rule (limits.stall_timeout) pushes ahead as bytes
// move: when it passes, the channel is closed, and the reads and writes
// through it fail with os.ErrDeadlineExceeded, which the transfer reports
// as core.ErrStall, as FTP and HTTP do.
type chanDeadline struct {
	ch      ssh.Channel
	mu      sync.Mutex
	timer   *time.Timer
	expired bool
}

// set is core.Transfer.Deadline: t zero clears the deadline.
func (d *chanDeadline) set(t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.expired {
		return os.ErrDeadlineExceeded
	}
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if !t.IsZero() {
		d.timer = time.AfterFunc(time.Until(t), d.fire)
	}
	return nil
}

func (d *chanDeadline) fire() {
	d.mu.Lock()
	d.expired = true
	d.mu.Unlock()
	d.ch.Close()
}

// stop clears the deadline when the transfer is over.
func (d *chanDeadline) stop() { d.set(time.Time{}) }

// err returns os.ErrDeadlineExceeded in place of err once the deadline
// closed the channel.
func (d *chanDeadline) err(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil && d.expired {
		return os.ErrDeadlineExceeded
	}
	return err
}

// stallReader and stallWriter are the channel's two directions under d.
type stallReader struct {
	r interface{ Read([]byte) (int, error) }
	d *chanDeadline
}

func (s stallReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	return n, s.d.err(err)
}

type stallWriter struct{ d *chanDeadline }

func (s stallWriter) Write(b []byte) (int, error) {
	n, err := s.d.ch.Write(b)
	return n, s.d.err(err)
}
