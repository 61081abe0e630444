package ftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/ftp/wire"
	"github.com/ferry-project/ferry/vfs"
)

// command describes one verb: login says it needs a logged-in user, arg
// that it needs an argument, anytime that it is answered while a transfer
// runs (every other command waits for the transfer to end).
type command struct {
	fn      func(s *session, arg string) bool
	login   bool
	arg     bool
	anytime bool
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"USER": {fn: (*session).cmdUSER, arg: true},
		"PASS": {fn: (*session).cmdPASS},
		"AUTH": {fn: (*session).cmdAUTH, arg: true},
		"PBSZ": {fn: (*session).cmdPBSZ, arg: true},
		"PROT": {fn: (*session).cmdPROT, arg: true},
		"QUIT": {fn: (*session).cmdQUIT},
		"NOOP": {fn: (*session).cmdNOOP, anytime: true},
		"SYST": {fn: (*session).cmdSYST},
		"FEAT": {fn: (*session).cmdFEAT},
		"OPTS": {fn: (*session).cmdOPTS, arg: true},
		"HELP": {fn: (*session).cmdHELP},
		"STAT": {fn: (*session).cmdSTAT, anytime: true},
		"TYPE": {fn: (*session).cmdTYPE, login: true, arg: true},
		"MODE": {fn: (*session).cmdMODE, login: true, arg: true},
		"STRU": {fn: (*session).cmdSTRU, login: true, arg: true},
		"PWD":  {fn: (*session).cmdPWD, login: true},
		"XPWD": {fn: (*session).cmdPWD, login: true},
		"CWD":  {fn: (*session).cmdCWD, login: true},
		"XCWD": {fn: (*session).cmdCWD, login: true},
		"CDUP": {fn: (*session).cmdCDUP, login: true},
		"XCUP": {fn: (*session).cmdCDUP, login: true},
		"MKD":  {fn: (*session).cmdMKD, login: true, arg: true},
		"XMKD": {fn: (*session).cmdMKD, login: true, arg: true},
		"RMD":  {fn: (*session).cmdRMD, login: true, arg: true},
		"XRMD": {fn: (*session).cmdRMD, login: true, arg: true},
		"DELE": {fn: (*session).cmdDELE, login: true, arg: true},
		"RNFR": {fn: (*session).cmdRNFR, login: true, arg: true},
		"RNTO": {fn: (*session).cmdRNTO, login: true, arg: true},
		"SIZE": {fn: (*session).cmdSIZE, login: true, arg: true},
		"MDTM": {fn: (*session).cmdMDTM, login: true, arg: true},
		"MFMT": {fn: (*session).cmdMFMT, login: true, arg: true},
		"LIST": {fn: (*session).cmdLIST, login: true},
		"NLST": {fn: (*session).cmdNLST, login: true},
		"MLSD": {fn: (*session).cmdMLSD, login: true},
		"MLST": {fn: (*session).cmdMLST, login: true},
		"RETR": {fn: (*session).cmdRETR, login: true, arg: true},
		"STOR": {fn: (*session).cmdSTOR, login: true, arg: true},
		"STOU": {fn: (*session).cmdSTOU, login: true},
		"APPE": {fn: (*session).cmdAPPE, login: true, arg: true},
		"REST": {fn: (*session).cmdREST, login: true, arg: true},
		"ABOR": {fn: (*session).cmdABOR, anytime: true},
		"ALLO": {fn: (*session).cmdALLO, login: true},
		"PASV": {fn: (*session).cmdPASV, login: true},
		"EPSV": {fn: (*session).cmdEPSV, login: true},
		"PORT": {fn: (*session).cmdPORT, login: true, arg: true},
		"EPRT": {fn: (*session).cmdEPRT, login: true, arg: true},
	}
}

// helpText lists the commands for HELP, eight to a line.
var helpText = []string{
	"The following commands are recognized:",
	"ABOR ALLO APPE AUTH CDUP CWD  DELE EPRT",
	"EPSV FEAT HELP LIST MDTM MFMT MKD  MLSD",
	"MLST MODE NLST NOOP OPTS PASS PASV PBSZ",
	"PORT PROT PWD  QUIT REST RETR RMD  RNFR",
	"RNTO SIZE STAT STOR STOU STRU SYST TYPE",
	"USER XCUP XCWD XMKD XPWD XRMD",
	"Help OK",
}

// --- login and security (RFC 959, 2228, 4217) ---

func (s *session) cmdUSER(arg string) bool {
	if s.loggedIn {
		s.reply(503, "Already logged in")
		return true
	}
	if s.tlsRequired() && !s.secure {
		s.reply(530, "TLS required: send AUTH TLS before USER; this server accepts no passwords in cleartext (ftp.tls = required)")
		return true
	}
	s.user = arg
	s.reply(331, "Password required for "+arg)
	return true
}

func (s *session) cmdPASS(arg string) bool {
	if s.loggedIn {
		s.reply(503, "Already logged in")
		return true
	}
	if s.user == "" {
		s.reply(503, "Send USER first")
		return true
	}
	name := s.user
	s.user = ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := s.srv.auth.Password(ctx, net.IP(s.remote.Addr().AsSlice()), name, arg)
	switch {
	case errors.Is(err, auth.ErrLocked):
		s.log.Warn("login refused: address locked out", "user", name)
		s.reply(421, "Too many failed logins from your address; try again later")
		return false
	case errors.Is(err, auth.ErrBusy):
		s.log.Warn("login refused: server busy", "user", name)
		s.reply(421, "Server busy; try again later")
		return false
	case errors.Is(err, auth.ErrDenied):
		s.log.Warn("login failed", "user", name)
		s.reply(530, "Login incorrect")
		return true
	case err != nil:
		s.log.Error("login failed: user store", "user", name, "err", err)
		s.reply(421, "Login failed: server error; try again later")
		return false
	}
	fsys, err := vfs.New(u.Home, u.ReadOnly)
	if err != nil {
		s.log.Error("login failed: home directory", "user", name, "err", err)
		s.reply(530, "Login failed: your home directory cannot be opened")
		return true
	}
	s.fs, s.loggedIn, s.cwd = fsys, true, "/"
	s.log = s.log.With("user", u.Name)
	s.log.Info("login", "tls", s.secure, "read_only", u.ReadOnly)
	s.reply(230, "User "+u.Name+" logged in")
	return true
}

func (s *session) cmdAUTH(arg string) bool {
	mech := strings.ToUpper(strings.TrimSpace(arg))
	switch {
	case s.tlsCfg == nil || s.srv.cfg.FTP.TLS == config.TLSOff && !s.implicit:
		s.reply(502, "AUTH is turned off on this server (ftp.tls = off)")
		return true
	case s.secure:
		s.reply(503, "TLS is already on")
		return true
	case s.loggedIn || s.user != "":
		s.reply(503, "AUTH must come before USER")
		return true
	case mech != "TLS" && mech != "TLS-C" && mech != "SSL" && mech != "TLS-P":
		s.reply(504, "Unknown security mechanism; use AUTH TLS")
		return true
	case s.br.Buffered() > 0:
		// Cleartext sent after AUTH but before the handshake would be read
		// as if it had come through TLS (command injection).
		s.log.Warn("cleartext pipelined after AUTH; closing")
		s.reply(500, "Commands pipelined after AUTH are refused")
		return false
	}
	s.reply(234, "AUTH "+mech+" OK; starting TLS")
	return s.startTLS()
}

func (s *session) cmdPBSZ(arg string) bool {
	if !s.secure {
		s.reply(503, "PBSZ needs a TLS control connection: send AUTH TLS first")
		return true
	}
	if _, err := strconv.ParseUint(arg, 10, 32); err != nil {
		s.reply(501, "PBSZ wants a number")
		return true
	}
	s.reply(200, "PBSZ=0")
	return true
}

func (s *session) cmdPROT(arg string) bool {
	if !s.secure {
		s.reply(503, "PROT needs a TLS control connection: send AUTH TLS first")
		return true
	}
	switch strings.ToUpper(arg) {
	case "C":
		if s.tlsRequired() {
			s.reply(534, "Data connections must be protected on this server: use PROT P")
			return true
		}
		s.protP = false
		s.reply(200, "Protection level set to Clear")
	case "P":
		s.protP = true
		s.reply(200, "Protection level set to Private")
	case "S", "E":
		s.reply(536, "Protection level not supported: use C or P")
	default:
		s.reply(504, "Unknown protection level: use C or P")
	}
	return true
}

// --- informational ---

func (s *session) cmdQUIT(string) bool {
	s.reply(221, "Goodbye")
	return false
}

func (s *session) cmdNOOP(string) bool {
	s.reply(200, "NOOP ok")
	return true
}

func (s *session) cmdSYST(string) bool {
	s.reply(215, "UNIX Type: L8")
	return true
}

func (s *session) cmdFEAT(string) bool {
	lines := []string{"Features:"}
	if s.tlsCfg != nil && (s.srv.cfg.FTP.TLS != config.TLSOff || s.implicit) {
		lines = append(lines, "AUTH TLS", "AUTH SSL", "PBSZ", "PROT")
	}
	lines = append(lines, "EPRT", "EPSV", "MDTM", "MFMT", "MLST "+factList(s.facts, true), "PASV",
		"REST STREAM", "SIZE", "TVFS", "UTF8", "End")
	s.reply(211, lines...)
	return true
}

func (s *session) cmdOPTS(arg string) bool {
	name, val, _ := strings.Cut(arg, " ")
	switch strings.ToUpper(name) {
	case "UTF8", "UTF-8":
		if strings.EqualFold(strings.TrimSpace(val), "OFF") {
			s.reply(504, "File names are always UTF-8")
			return true
		}
		s.reply(200, "UTF8 mode on")
	case "MLST":
		sel := map[string]bool{}
		for f := range strings.SplitSeq(strings.TrimSpace(val), ";") {
			for _, known := range allFacts {
				if strings.EqualFold(f, known) {
					sel[known] = true
				}
			}
		}
		s.facts = sel
		s.reply(200, "MLST OPTS "+factList(sel, false))
	default:
		s.reply(501, "Unknown option")
	}
	return true
}

func (s *session) cmdHELP(string) bool {
	s.reply(214, helpText...)
	return true
}

func (s *session) cmdSTAT(arg string) bool {
	if arg != "" {
		if !s.loggedIn {
			s.reply(530, "Please log in with USER and PASS first")
			return true
		}
		b, err := s.listing(arg, "LIST")
		if err != nil {
			s.reply(550, fsError(err))
			return true
		}
		lines := append([]string{"Status of " + arg + ":"}, strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")...)
		s.reply(213, append(lines, "End of status")...)
		return true
	}
	lines := []string{"ferry FTP server status:", "Connected from " + s.remote.Addr().String()}
	if s.loggedIn {
		lines = append(lines, "Logged in, working directory "+s.cwd)
	} else {
		lines = append(lines, "Not logged in")
	}
	lines = append(lines, fmt.Sprintf("TLS on control connection: %v; data protection: %s", s.secure, map[bool]string{true: "private", false: "clear"}[s.protP]))
	s.xmu.Lock()
	if x := s.xfer; x != nil {
		lines = append(lines, fmt.Sprintf("Transfer in progress: %s %s, %d bytes so far", x.verb, x.path, x.bytes.Load()))
	}
	s.xmu.Unlock()
	s.reply(211, append(lines, "End of status")...)
	return true
}

// --- parameters ---

func (s *session) cmdTYPE(arg string) bool {
	// Files move byte for byte in either type, as in most servers: ASCII
	// conversion would break the byte-exact resume that clients rely on.
	switch strings.ToUpper(strings.Join(strings.Fields(arg), " ")) {
	case "I", "L 8":
		s.reply(200, "Type set to I")
	case "A", "A N":
		s.reply(200, "Type set to A")
	case "E", "A T", "A C", "E N":
		s.reply(504, "Type not supported: use I or A")
	default:
		s.reply(501, "Unknown type")
	}
	return true
}

func (s *session) cmdMODE(arg string) bool {
	return s.onlyParam(arg, "S", "BC", "Mode")
}

func (s *session) cmdSTRU(arg string) bool {
	return s.onlyParam(arg, "F", "RP", "Structure")
}

func (s *session) onlyParam(arg, ok, known, what string) bool {
	a := strings.ToUpper(arg)
	switch {
	case a == ok:
		s.reply(200, what+" set to "+ok)
	case len(a) == 1 && strings.Contains(known, a):
		s.reply(504, what+" "+a+" not supported: use "+ok)
	default:
		s.reply(501, "Unknown "+strings.ToLower(what))
	}
	return true
}

// --- directories and files ---

func (s *session) path(arg string) string { return vfs.Clean(s.cwd, arg) }

func quote(p string) string { return `"` + strings.ReplaceAll(p, `"`, `""`) + `"` }

func (s *session) cmdPWD(string) bool {
	s.reply(257, quote(s.cwd)+" is the current directory")
	return true
}

func (s *session) cmdCWD(arg string) bool {
	p := s.path(arg)
	fi, err := s.fs.Stat(p)
	switch {
	case err != nil:
		s.reply(550, fsError(err))
	case !fi.IsDir():
		s.reply(550, "Not a directory")
	default:
		s.cwd = p
		s.reply(250, "Directory changed to "+p)
	}
	return true
}

func (s *session) cmdCDUP(string) bool { return s.cmdCWD("..") }

func (s *session) cmdMKD(arg string) bool {
	p := s.path(arg)
	if err := s.fs.Mkdir(p); err != nil {
		s.reply(550, fsError(err))
		return true
	}
	s.reply(257, quote(p)+" directory created")
	return true
}

func (s *session) cmdRMD(arg string) bool {
	return s.simple(s.fs.Rmdir(s.path(arg)), "Directory removed")
}

func (s *session) cmdDELE(arg string) bool {
	return s.simple(s.fs.Remove(s.path(arg)), "File deleted")
}

func (s *session) simple(err error, ok string) bool {
	if err != nil {
		s.reply(550, fsError(err))
		return true
	}
	s.reply(250, ok)
	return true
}

func (s *session) cmdRNFR(arg string) bool {
	p := s.path(arg)
	if _, err := s.fs.Lstat(p); err != nil {
		s.reply(550, fsError(err))
		return true
	}
	s.rnfr = p
	s.reply(350, "Ready for RNTO")
	return true
}

func (s *session) cmdRNTO(arg string) bool {
	if s.rnfrPrev == "" {
		s.reply(503, "Send RNFR first")
		return true
	}
	return s.simple(s.fs.Rename(s.rnfrPrev, s.path(arg)), "Rename successful")
}

func (s *session) cmdSIZE(arg string) bool {
	fi, err := s.fs.Stat(s.path(arg))
	switch {
	case err != nil:
		s.reply(550, fsError(err))
	case !fi.Mode().IsRegular():
		s.reply(550, "Not a regular file")
	default:
		s.reply(213, strconv.FormatInt(fi.Size(), 10))
	}
	return true
}

const mdtmLayout = "20060102150405"

func (s *session) cmdMDTM(arg string) bool {
	fi, err := s.fs.Stat(s.path(arg))
	if err != nil {
		s.reply(550, fsError(err))
		return true
	}
	s.reply(213, fi.ModTime().UTC().Format(mdtmLayout))
	return true
}

// cmdMFMT sets a modification time (draft-somers-ftp-mfxx): "MFMT
// YYYYMMDDHHMMSS[.sss] path", in UTC.
func (s *session) cmdMFMT(arg string) bool {
	ts, name, ok := strings.Cut(arg, " ")
	if !ok || name == "" {
		s.reply(501, "MFMT wants YYYYMMDDHHMMSS and a path")
		return true
	}
	ts, _, _ = strings.Cut(ts, ".")
	t, err := time.Parse(mdtmLayout, ts)
	if err != nil {
		s.reply(501, "MFMT wants the time as YYYYMMDDHHMMSS")
		return true
	}
	p := s.path(name)
	if err := s.fs.Chtimes(p, t); err != nil {
		s.reply(550, fsError(err))
		return true
	}
	s.reply(213, "Modify="+t.Format(mdtmLayout)+"; "+p)
	return true
}

func (s *session) cmdALLO(string) bool {
	s.reply(202, "No storage allocation necessary")
	return true
}

func (s *session) cmdREST(arg string) bool {
	n, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || n < 0 {
		s.reply(501, "REST wants a byte offset")
		return true
	}
	s.rest = n
	s.reply(350, fmt.Sprintf("Restarting at %d; send RETR or STOR", n))
	return true
}

func (s *session) cmdABOR(string) bool {
	if !s.stopTransfer() {
		s.reply(225, "No transfer to abort")
		return true
	}
	s.waitTransfer()
	s.reply(226, "ABOR successful")
	return true
}

// --- data connections ---

func (s *session) cmdPASV(string) bool {
	if s.epsvAll {
		s.reply(501, "EPSV ALL is in effect: use EPSV")
		return true
	}
	ip, err := s.srv.passiveAddr(context.Background(), s.remote.Addr(), s.local.Addr())
	if err != nil {
		s.log.Error("passive address", "err", err)
		s.reply(425, "Cannot tell the passive address: "+err.Error())
		return true
	}
	if !ip.Is4() {
		s.reply(425, "PASV carries IPv4 addresses only: use EPSV")
		return true
	}
	p := s.listenPassive()
	if p == nil {
		return true
	}
	text, _ := wire.FormatPASV(netip.AddrPortFrom(ip, uint16(p.port)))
	s.reply(227, text)
	return true
}

func (s *session) cmdEPSV(arg string) bool {
	switch a := strings.ToUpper(strings.TrimSpace(arg)); a {
	case "ALL":
		s.epsvAll = true
		s.reply(200, "EPSV ALL ok")
		return true
	case "", "1", "2":
		if a != "" && a != s.family() {
			s.reply(522, "Network protocol not supported, use ("+s.family()+")")
			return true
		}
	default:
		s.reply(501, "EPSV wants no argument, 1, 2 or ALL")
		return true
	}
	p := s.listenPassive()
	if p == nil {
		return true
	}
	s.reply(229, wire.FormatEPSV(uint16(p.port)))
	return true
}

// family is the RFC 2428 protocol number of the control connection.
func (s *session) family() string {
	if s.local.Addr().Is4() {
		return "1"
	}
	return "2"
}

func (s *session) listenPassive() *passive {
	s.dropData()
	p, err := s.srv.openPassive(s.local.Addr())
	if err != nil {
		if errors.Is(err, errExhausted) {
			s.log.Warn("passive range exhausted", "range", s.srv.cfg.FTP.PassiveRange().String())
			s.reply(425, "No free passive port ("+s.srv.cfg.FTP.PassiveRange().String()+" all in use); try again later")
			return nil
		}
		s.log.Error("passive listen", "err", err)
		s.reply(425, "Cannot open a passive port")
		return nil
	}
	s.pasv = p
	return p
}

func (s *session) cmdPORT(arg string) bool {
	if !s.activeAllowed() {
		return true
	}
	ap, err := wire.ParsePORT(arg)
	if err != nil {
		s.reply(501, capital(err.Error()))
		return true
	}
	return s.setActive(ap, "PORT")
}

func (s *session) cmdEPRT(arg string) bool {
	if !s.activeAllowed() {
		return true
	}
	ap, err := wire.ParseEPRT(arg)
	switch {
	case errors.Is(err, wire.ErrProtocol):
		s.reply(522, "Network protocol not supported, use (1,2)")
		return true
	case err != nil:
		s.reply(501, capital(err.Error()))
		return true
	}
	return s.setActive(ap, "EPRT")
}

func (s *session) activeAllowed() bool {
	switch {
	case !s.srv.cfg.FTP.Active:
		s.reply(502, "Active mode is turned off on this server (ftp.active = false): use PASV or EPSV")
		return false
	case s.epsvAll:
		s.reply(501, "EPSV ALL is in effect: use EPSV")
		return false
	}
	return true
}

// setActive accepts an active address only when it is the client's own IP
// and an unprivileged port: anything else would make the server connect
// to a third party on the client's behalf (FTP bounce, RFC 2577).
func (s *session) setActive(ap netip.AddrPort, verb string) bool {
	if ap.Addr().Unmap() != s.remote.Addr() || ap.Port() < 1024 {
		s.log.Warn("active address refused (bounce)", "verb", verb, "to", ap.String())
		s.reply(500, "Illegal "+verb+": the data address must be your own IP and a port of 1024 or above")
		return true
	}
	s.dropData()
	s.active = ap
	s.reply(200, verb+" command successful")
	return true
}

// fsError turns a vfs error into reply text that names no server path.
func fsError(err error) string {
	switch {
	case errors.Is(err, vfs.ErrReadOnly):
		return "Permission denied: read-only account"
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, fs.ErrExist):
		return "File exists"
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied"
	case strings.Contains(err.Error(), "escapes"):
		return "Permission denied: the path leads outside your home directory"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return capital(pe.Err.Error())
	}
	return "Requested action not taken"
}
