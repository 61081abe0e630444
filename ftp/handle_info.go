package ftp

// Informational commands and transfer parameters: NOOP, SYST, FEAT, OPTS,
// HELP, STAT, TYPE, MODE, STRU.

import (
	"fmt"
	"strings"

	"github.com/ferry-project/ferry/config"
)

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
	lines = append(lines, "EPRT", "EPSV", s.hashFeat(), "MDTM", "MFMT", "MLST "+factList(s.facts, true), "PASV",
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
	case "HASH":
		s.optsHash(val)
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
		s.statListing(arg)
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
