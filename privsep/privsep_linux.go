package privsep

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/ferry-project/ferry/internal/sock"
	"golang.org/x/sys/unix"
)

// Account is the user and group a server drops to.
type Account struct {
	Name     string
	UID, GID int
	Groups   []int
}

// Lookup finds the account of name in the system's user database.
func Lookup(name string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return Account{}, fmt.Errorf("run_as: %w", err)
	}
	a := Account{Name: name}
	if a.UID, err = strconv.Atoi(u.Uid); err != nil {
		return Account{}, fmt.Errorf("run_as %s: uid %q", name, u.Uid)
	}
	if a.GID, err = strconv.Atoi(u.Gid); err != nil {
		return Account{}, fmt.Errorf("run_as %s: gid %q", name, u.Gid)
	}
	a.Groups = []int{a.GID}
	if ids, err := u.GroupIds(); err == nil {
		for _, id := range ids {
			if g, err := strconv.Atoi(id); err == nil && g != a.GID {
				a.Groups = append(a.Groups, g)
			}
		}
	}
	if a.UID == 0 {
		return Account{}, fmt.Errorf("run_as %s: that is root", name)
	}
	return a, nil
}

// Drop makes every thread of the process a's, for good: supplementary
// groups, group, then user (Go applies each to all threads).
func Drop(a Account) error {
	if err := syscall.Setgroups(a.Groups); err != nil {
		return fmt.Errorf("run_as: setgroups: %w", err)
	}
	if err := syscall.Setgid(a.GID); err != nil {
		return fmt.Errorf("run_as: setgid: %w", err)
	}
	if err := syscall.Setuid(a.UID); err != nil {
		return fmt.Errorf("run_as: setuid: %w", err)
	}
	if syscall.Setuid(0) == nil {
		return errors.New("run_as: root could be regained after the drop")
	}
	return nil
}

// Helper is the privileged side's handle in the server.
type Helper struct {
	ctl *net.UnixConn
	cmd *exec.Cmd
}

// HelperArg is the hidden subcommand the helper runs as.
const HelperArg = "__privsep-helper"

// Start starts the helper (ferry itself, with HelperArg) allowed to dial
// from ports only. It must run while the process is still root.
func Start(ports []int) (*Helper, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("privsep: socketpair: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "privsep"), os.NewFile(uintptr(fds[1]), "privsep-helper")
	defer theirs.Close()
	self, err := os.Executable()
	if err != nil {
		mine.Close()
		return nil, err
	}
	args := []string{HelperArg}
	for _, p := range ports {
		args = append(args, strconv.Itoa(p))
	}
	cmd := exec.Command(self, args...)
	cmd.ExtraFiles = []*os.File{theirs} // fd 3
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		mine.Close()
		return nil, fmt.Errorf("privsep: start helper: %w", err)
	}
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		cmd.Process.Kill()
		return nil, err
	}
	return &Helper{ctl: fc.(*net.UnixConn), cmd: cmd}, nil
}

// Close stops the helper.
func (h *Helper) Close() error {
	h.ctl.Close()
	h.cmd.Process.Kill()
	_ = h.cmd.Wait()
	return nil
}

// Dial asks the helper for a TCP connection from local:srcPort to to. Each
// request carries its own socket pair, so that dials run side by side.
func (h *Helper) Dial(ctx context.Context, local netip.Addr, srcPort int, to netip.AddrPort) (net.Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	reply := os.NewFile(uintptr(fds[0]), "privsep-reply")
	defer reply.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	req := fmt.Sprintf("%s %d %s %d", local, srcPort, to, deadline.UnixMilli())
	_, _, err = h.ctl.WriteMsgUnix([]byte(req), unix.UnixRights(fds[1]), nil)
	unix.Close(fds[1])
	if err != nil {
		return nil, fmt.Errorf("privsep: helper gone: %w", err)
	}
	rc, err := net.FileConn(reply)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	uc := rc.(*net.UnixConn)
	uc.SetReadDeadline(deadline.Add(time.Second))
	stop := context.AfterFunc(ctx, func() { uc.SetReadDeadline(time.Now()) })
	defer stop()
	buf, oob := make([]byte, 512), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("privsep: %w", err)
	}
	if n == 0 || buf[0] != 'o' {
		return nil, fmt.Errorf("active connect to %s from port %d: %s", to, srcPort, buf[min(n, 1):n])
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("privsep: no socket in the helper's answer")
	}
	got, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(got) != 1 {
		return nil, errors.New("privsep: no socket in the helper's answer")
	}
	f := os.NewFile(uintptr(got[0]), "active")
	defer f.Close()
	return net.FileConn(f)
}

// Serve is the helper's whole life (the HelperArg subcommand): answer dial
// requests on fd 3 until the server closes it. ports are the only source
// ports it dials from; destinations below 1024 are refused (FTP bounce,
// RFC 2577).
func Serve(args []string) error {
	var ports []int
	for _, a := range args {
		p, err := strconv.Atoi(a)
		if err != nil {
			return fmt.Errorf("privsep helper: port %q", a)
		}
		ports = append(ports, p)
	}
	ctl, err := net.FileConn(os.NewFile(3, "privsep"))
	if err != nil {
		return err
	}
	uc := ctl.(*net.UnixConn)
	buf, oob := make([]byte, 512), make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
		if err != nil || n == 0 {
			return nil // the server is gone
		}
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if perr != nil || len(msgs) != 1 {
			continue
		}
		fds, perr := unix.ParseUnixRights(&msgs[0])
		if perr != nil || len(fds) != 1 {
			continue
		}
		go answer(string(buf[:n]), fds[0], ports)
	}
}

// answer dials for one request and sends the socket, or the error, back
// over the request's own reply socket.
func answer(req string, replyFD int, ports []int) {
	reply := os.NewFile(uintptr(replyFD), "reply")
	defer reply.Close()
	send := func(msg string, fd int) {
		var oob []byte
		if fd >= 0 {
			oob = unix.UnixRights(fd)
		}
		unix.Sendmsg(int(reply.Fd()), []byte(msg), oob, nil, 0)
	}
	var local, to string
	var src int
	var deadline int64
	if _, err := fmt.Sscanf(req, "%s %d %s %d", &local, &src, &to, &deadline); err != nil {
		send("ebad request", -1)
		return
	}
	la, err1 := netip.ParseAddr(local)
	ta, err2 := netip.ParseAddrPort(to)
	switch {
	case err1 != nil || err2 != nil:
		send("ebad request", -1)
		return
	case !slices.Contains(ports, src):
		send("esource port not in the listener plan", -1)
		return
	case ta.Port() < 1024:
		send("edestination port below 1024", -1)
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.UnixMilli(deadline))
	defer cancel()
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(la, uint16(src))), Control: sock.ReuseAddr}
	c, err := d.DialContext(ctx, "tcp", ta.String())
	if err != nil {
		send("e"+err.Error(), -1)
		return
	}
	defer c.Close()
	f, err := c.(*net.TCPConn).File()
	if err != nil {
		send("e"+err.Error(), -1)
		return
	}
	defer f.Close()
	send("o", int(f.Fd()))
}
