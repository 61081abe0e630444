package sftp

// The legacy SCP protocol (rcp's, as OpenSSH's scp speaks it with -O):
// the client runs "scp -t PATH" to upload (the server is the sink) or
// "scp -f PATH" to download (the server is the source), and both sides
// exchange records over the session channel. ferry runs no program: it
// speaks the protocol itself, through the session's file system and
// core.Transfer, so the home, atomic uploads and events hold as in SFTP.
// The records, from OpenSSH's scp.c: "C<mode> <size> <name>\n" then the
// bytes and a zero byte, "D<mode> 0 <name>\n" ... "E\n" for a folder
// (-r), "T<mtime> 0 <atime> 0\n" before either (-p); each is answered by
// a zero byte, or 1 (warning) or 2 (fatal) and a message line.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/vfs"
	"golang.org/x/crypto/ssh"
)

// scpRequest is a parsed "scp -t|-f [-r] [-p] [-d] [-v] [--] PATH".
type scpRequest struct {
	sink, recursive, times, dir bool
	path                        string
}

// scpCommand parses an exec command line as an scp server invocation.
func scpCommand(line string) (scpRequest, bool) {
	words, err := splitCommand(line)
	if err != nil || len(words) < 3 || words[0] != "scp" {
		return scpRequest{}, false
	}
	var r scpRequest
	to, from := false, false
	i := 1
	for ; i < len(words) && strings.HasPrefix(words[i], "-"); i++ {
		if words[i] == "--" {
			i++
			break
		}
		for _, f := range words[i][1:] {
			switch f {
			case 't':
				to = true
			case 'f':
				from = true
			case 'r':
				r.recursive = true
			case 'p':
				r.times = true
			case 'd':
				r.dir = true
			case 'v':
			default:
				return scpRequest{}, false
			}
		}
	}
	if to == from || i != len(words)-1 {
		return scpRequest{}, false
	}
	r.sink, r.path = to, vfs.Join("/", words[i])
	return r, true
}

// errSCP is a protocol violation by the client.
var errSCP = errors.New("scp: protocol error")

type scp struct {
	s    *Server
	cn   *core.Conn
	fs   vfs.FS
	ch   ssh.Channel
	br   *bufio.Reader
	log  *slog.Logger
	r    scpRequest
	fail bool // a file failed: the exit status is 1
}

// runSCP serves one scp invocation and reports its exit status.
func (s *Server) runSCP(c *conn, ch ssh.Channel, r scpRequest, log *slog.Logger) {
	x := &scp{s: s, cn: c.cn, fs: c.cn.FS(), ch: ch, br: bufio.NewReader(ch), log: log, r: r}
	var err error
	if r.sink {
		err = x.sink()
	} else {
		err = x.source()
	}
	status := byte(0)
	if err != nil || x.fail {
		status = 1
		if err != nil {
			log.Info("scp ended", "err", err.Error())
		}
	}
	ch.SendRequest("exit-status", false, []byte{0, 0, 0, status})
	ch.CloseWrite()
}

func (x *scp) ok() error { _, err := x.ch.Write([]byte{0}); return err }

// warn sends a warning (1) for err with the message of the one table,
// statuses, and marks the exit status.
func (x *scp) warn(name string, err error) error {
	_, msg := statusOf(err)
	if errors.Is(err, vfs.ErrEscape) {
		x.cn.Refuse(vfs.PathOf(err), "outside the home")
	}
	x.fail = true
	_, werr := fmt.Fprintf(x.ch, "\x01scp: %s: %s\n", name, msg)
	return werr
}

// ack reads the other side's answer to a record.
func (x *scp) ack() error {
	b, err := x.br.ReadByte()
	if err != nil {
		return err
	}
	if b == 0 {
		return nil
	}
	line, _ := x.br.ReadString('\n')
	return fmt.Errorf("%w: the client answered %q", errSCP, strings.TrimSpace(line))
}

// sink receives what the client sends into x.r.path.
func (x *scp) sink() error {
	target := x.r.path
	fi, err := x.fs.Stat(target)
	intoDir := err == nil && fi.IsDir()
	if x.r.dir && !intoDir {
		x.warn(target, vfs.ErrNotDir)
		return nil
	}
	if err := x.ok(); err != nil {
		return err
	}
	dirs := []string{}
	var mtime *time.Time
	for {
		line, err := x.br.ReadString('\n')
		if err == io.EOF && line == "" {
			return nil
		}
		if err != nil {
			return err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			return errSCP
		}
		switch line[0] {
		case 'T':
			var m, ma, a, aa int64
			if _, err := fmt.Sscanf(line, "T%d %d %d %d", &m, &ma, &a, &aa); err != nil {
				return errSCP
			}
			t := time.Unix(m, 0)
			mtime = &t
			if err := x.ok(); err != nil {
				return err
			}
			continue
		case 'E':
			if len(dirs) == 0 {
				return errSCP
			}
			dirs = dirs[:len(dirs)-1]
			if err := x.ok(); err != nil {
				return err
			}
			continue
		case 'C', 'D':
		default:
			return errSCP
		}
		mode, size, name, ok := parseRecord(line[1:])
		if !ok {
			return errSCP
		}
		p := target
		if len(dirs) > 0 {
			p = path.Join(dirs[len(dirs)-1], name)
		} else if intoDir {
			p = path.Join(target, name)
		}
		if line[0] == 'D' {
			if !x.r.recursive {
				return errSCP
			}
			err := x.fs.Mkdir(p)
			if errors.Is(err, fs.ErrExist) {
				if fi, serr := x.fs.Stat(p); serr == nil && fi.IsDir() {
					err = nil
				}
			}
			if err != nil {
				return x.warnFatal(p, err)
			}
			if mtime != nil {
				x.fs.Chtimes(p, *mtime)
			}
			mtime = nil
			dirs = append(dirs, p)
			if err := x.ok(); err != nil {
				return err
			}
			continue
		}
		if err := x.receive(p, mode, size, mtime); err != nil {
			return err
		}
		mtime = nil
	}
}

// warnFatal answers 2 and a message: the client stops.
func (x *scp) warnFatal(p string, err error) error {
	_, msg := statusOf(err)
	x.fail = true
	fmt.Fprintf(x.ch, "\x02scp: %s: %s\n", p, msg)
	return err
}

// parseRecord reads "<mode> <size> <name>" of a C or D record; the name
// must be one plain component.
func parseRecord(s string) (fs.FileMode, int64, string, bool) {
	f := strings.SplitN(s, " ", 3)
	if len(f) != 3 {
		return 0, 0, "", false
	}
	mode, err1 := strconv.ParseUint(f[0], 8, 32)
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	name := f[2]
	if err1 != nil || err2 != nil || size < 0 || name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return 0, 0, "", false
	}
	return fs.FileMode(mode).Perm(), size, name, true
}

// receive stores one file of size bytes at p, atomically.
func (x *scp) receive(p string, mode fs.FileMode, size int64, mtime *time.Time) error {
	up, err := x.fs.Create(p)
	if err != nil {
		// On a warning the client skips the file and sends no bytes.
		return x.warn(p, err)
	}
	defer up.Abort()
	if err := x.ok(); err != nil {
		return err
	}
	start := time.Now()
	t, dl := x.transfer()
	defer dl.stop()
	n, err := t.Receive(up, io.LimitReader(stallReader{x.br, dl}, size))
	if err == nil && n < size {
		err = fmt.Errorf("%w: %w", core.ErrPeer, io.ErrUnexpectedEOF)
	}
	if err == nil {
		err = x.ack() // the zero byte after the data
	}
	if err == nil {
		up.Chmod(clientMode(uint32(mode)))
		err = up.Commit()
		if err == nil && mtime != nil {
			err = x.fs.Chtimes(p, *mtime)
		}
	}
	e := core.Event{Kind: core.EventUpload, Path: p, Bytes: n, Duration: time.Since(start), Err: err, Attrs: []any{"via", "scp"}}
	if errors.Is(err, core.ErrPeer) || errors.Is(err, errSCP) {
		e.Result = core.ResultAborted
	}
	x.cn.Emit(e)
	if err != nil {
		if errors.Is(err, core.ErrPeer) || errors.Is(err, errSCP) {
			return err
		}
		return x.warn(p, err)
	}
	return x.ok()
}

// transfer is one file's transfer under the stall rule.
func (x *scp) transfer() (*core.Transfer, *chanDeadline) {
	dl := &chanDeadline{ch: x.ch}
	return &core.Transfer{Stall: x.s.o.Config.Limits.StallTimeout.Duration, Deadline: dl.set}, dl
}

// source sends x.r.path to the client.
func (x *scp) source() error {
	if err := x.ack(); err != nil { // the client's first zero byte
		return err
	}
	return x.send(x.r.path)
}

func (x *scp) send(p string) error {
	fi, err := x.fs.Stat(p)
	if err != nil {
		return x.warn(p, err)
	}
	if x.r.times {
		if _, err := fmt.Fprintf(x.ch, "T%d 0 %d 0\n", fi.ModTime().Unix(), fi.ModTime().Unix()); err != nil {
			return err
		}
		if err := x.ack(); err != nil {
			return err
		}
	}
	name := path.Base(p)
	if fi.IsDir() {
		if !x.r.recursive {
			return x.warn(p, vfs.ErrIsDir)
		}
		if _, err := fmt.Fprintf(x.ch, "D%04o 0 %s\n", fi.Mode().Perm(), name); err != nil {
			return err
		}
		if err := x.ack(); err != nil {
			return err
		}
		ls, err := x.fs.ReadDir(p)
		if err != nil {
			return x.warn(p, err)
		}
		var names []string
		for {
			infos, err := ls.Next(0)
			for _, e := range infos {
				names = append(names, e.Name())
			}
			if err != nil {
				break
			}
		}
		ls.Close()
		for _, n := range names {
			if err := x.send(path.Join(p, n)); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(x.ch, "E\n"); err != nil {
			return err
		}
		return x.ack()
	}
	if !fi.Mode().IsRegular() {
		return x.warn(p, fs.ErrInvalid)
	}
	f, err := x.fs.Open(p)
	if err != nil {
		return x.warn(p, err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(x.ch, "C%04o %d %s\n", fi.Mode().Perm(), fi.Size(), name); err != nil {
		return err
	}
	if err := x.ack(); err != nil {
		return err
	}
	start := time.Now()
	t, dl := x.transfer()
	defer dl.stop()
	n, err := t.Send(stallWriter{dl}, io.LimitReader(f, fi.Size()))
	if err == nil && n < fi.Size() {
		err = io.ErrUnexpectedEOF // the file shrank while it was read
	}
	x.cn.Emit(core.Event{Kind: core.EventDownload, Path: p, Bytes: n, Duration: time.Since(start), Err: err, Attrs: []any{"via", "scp"}})
	if err != nil {
		return err // the promised size cannot be kept: end the channel
	}
	if err := x.ok(); err != nil {
		return err
	}
	return x.ack()
}
