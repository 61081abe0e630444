package client

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// sftpLimits are the sizes a transfer uses on one SFTP session.
type sftpLimits struct {
	// chunk is the length of one READ or WRITE: the server's
	// limits@openssh.com max-read/max-write-length, else the 32 KiB every
	// server takes (draft-ietf-secsh-filexfer-02).
	chunk int
	// depth is how many requests one file keeps in flight on one session:
	// 4 MiB, more than the 2 MiB an SSH channel's window lets travel at
	// once, so that the window, not the client, is the limit. A path of
	// 100 ms at 1 Gbit/s (12.5 MB in flight) is filled by segments on
	// several connections, as the round trip tells (autoSegments).
	depth int
	// handles is the server's max-open-handles (0: not said).
	handles int
}

const (
	safeChunk   = 32 << 10
	pipeTarget  = 4 << 20 // bytes in flight per session
	sftpVersion = 3
	fxpInit     = 1
	fxpVersion  = 2
	fxpStatus   = 101
	fxpExtended = 200
	fxpExtReply = 201
)

func limitsFor(chunk, handles int) sftpLimits {
	return sftpLimits{chunk: chunk, depth: max(4, (pipeTarget+chunk-1)/chunk), handles: handles}
}

// startSFTP opens a session channel on sc, starts the sftp subsystem and
// returns a client sized by the server's limits@openssh.com. It speaks
// the INIT/VERSION exchange itself so as to ask for the limits on the same
// channel before pkg/sftp takes it over (a replayed VERSION answers
// pkg/sftp's own INIT). The limits request follows INIT at once, and with
// known limits (a clone: the first session proved the subsystem there)
// the subsystem request wants no reply and INIT follows it: a clone's
// session is ready one round trip after the channel opens.
func startSFTP(sc *ssh.Client, known *sftpLimits, timeout time.Duration) (*sftp.Client, sftpLimits, error) {
	// A link whose peer went silent would hold OpenChannel for ever: the
	// connection is closed after the timeout, which ends it.
	hang := time.AfterFunc(timeout, func() { sc.Close() })
	ch, reqs, err := sc.OpenChannel("session", nil)
	hang.Stop()
	if err != nil {
		return nil, sftpLimits{}, err
	}
	go ssh.DiscardRequests(reqs)
	// What the server says on standard error is not read by anyone; it
	// must not hold up the channel's window.
	go io.Copy(io.Discard, ch.Stderr())
	ok, err := ch.SendRequest("subsystem", known == nil, ssh.Marshal(struct{ Name string }{"sftp"}))
	if err == nil && known == nil && !ok {
		err = errors.New("the server refused the sftp subsystem")
	}
	if err != nil {
		ch.Close()
		return nil, sftpLimits{}, err
	}
	timer := time.AfterFunc(timeout, func() { ch.Close() })
	version, lim, err := handshake(ch, ch, known)
	if !timer.Stop() && err == nil {
		err = errors.New("timed out")
	}
	if err != nil {
		ch.Close()
		return nil, sftpLimits{}, err
	}
	rd := io.MultiReader(bytes.NewReader(version), ch)
	c, err := sftp.NewClientPipe(rd, &dropFirstPacket{w: ch},
		sftp.MaxPacketUnchecked(lim.chunk),
		sftp.MaxConcurrentRequestsPerFile(lim.depth),
		sftp.UseConcurrentWrites(true), sftp.UseConcurrentReads(true))
	if err != nil {
		ch.Close()
		return nil, sftpLimits{}, err
	}
	go func() { c.Wait(); ch.Close() }()
	return c, lim, nil
}

// handshake sends INIT and, when known is nil, the limits@openssh.com
// request right behind it, then reads VERSION and the answer (the limits,
// or the status of a server that has no such extension: every request
// gets an answer, draft-ietf-secsh-filexfer-02 section 8). It returns the
// VERSION packet to replay.
func handshake(r io.Reader, w io.Writer, known *sftpLimits) ([]byte, sftpLimits, error) {
	req := []byte{0, 0, 0, 5, fxpInit, 0, 0, 0, sftpVersion}
	const name = "limits@openssh.com"
	if known == nil {
		req = binary.BigEndian.AppendUint32(req, uint32(1+4+4+len(name)))
		req = append(req, fxpExtended)
		req = binary.BigEndian.AppendUint32(req, 1)
		req = binary.BigEndian.AppendUint32(req, uint32(len(name)))
		req = append(req, name...)
	}
	if _, err := w.Write(req); err != nil {
		return nil, sftpLimits{}, err
	}
	version, err := readPacket(r)
	if err != nil {
		return nil, sftpLimits{}, err
	}
	if len(version) < 9 || version[4] != fxpVersion {
		return nil, sftpLimits{}, fmt.Errorf("unexpected first packet (type %d)", version[4])
	}
	if known != nil {
		return version, *known, nil
	}
	lim := limitsFor(safeChunk, 0)
	rep, err := readPacket(r)
	if err != nil {
		return nil, sftpLimits{}, err
	}
	// uint32 length, byte type, uint32 id, then four uint64: packet, read,
	// write and open-handles limits.
	if !hasExtension(version[9:], name) || len(rep) < 9+32 || rep[4] != fxpExtReply {
		return version, lim, nil // a status: the server would not say
	}
	u := func(i int) uint64 { return binary.BigEndian.Uint64(rep[9+8*i:]) }
	chunk := uint64(safeChunk)
	if rd, wr := u(1), u(2); rd > 0 && wr > 0 {
		chunk = min(rd, wr, 1<<20)
	}
	return version, limitsFor(int(max(chunk, 1024)), int(min(u(3), 1<<16))), nil
}

// readPacket reads one SFTP packet (length included), of at most 256 KiB.
func readPacket(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 5 || n > 256<<10 {
		return nil, fmt.Errorf("sftp packet of %d bytes", n)
	}
	b := make([]byte, 4+n)
	copy(b, hdr[:])
	_, err := io.ReadFull(r, b[4:])
	return b, err
}

// hasExtension looks for name among the extension pairs of a VERSION.
func hasExtension(b []byte, name string) bool {
	str := func() (string, bool) {
		if len(b) < 4 {
			return "", false
		}
		n := binary.BigEndian.Uint32(b)
		if uint64(len(b)-4) < uint64(n) {
			return "", false
		}
		s := string(b[4 : 4+n])
		b = b[4+n:]
		return s, true
	}
	for {
		k, ok := str()
		if !ok {
			return false
		}
		if _, ok := str(); !ok {
			return false
		}
		if k == name {
			return true
		}
	}
}

// dropFirstPacket swallows the first packet written (pkg/sftp's INIT,
// already sent) and passes the rest through.
type dropFirstPacket struct {
	w     io.WriteCloser
	hdr   []byte
	skip  int64
	ready bool
}

func (d *dropFirstPacket) Write(b []byte) (int, error) {
	n := len(b)
	for !d.ready && len(b) > 0 {
		if len(d.hdr) < 4 {
			k := min(4-len(d.hdr), len(b))
			d.hdr, b = append(d.hdr, b[:k]...), b[k:]
			if len(d.hdr) == 4 {
				d.skip = int64(binary.BigEndian.Uint32(d.hdr))
			}
			continue
		}
		k := int(min(d.skip, int64(len(b))))
		d.skip, b = d.skip-int64(k), b[k:]
		d.ready = d.skip == 0
	}
	if len(b) == 0 {
		return n, nil
	}
	if _, err := d.w.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

func (d *dropFirstPacket) Close() error { return d.w.Close() }
