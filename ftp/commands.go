package ftp

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
		"USER":    {fn: (*session).cmdUSER, arg: true},
		"PASS":    {fn: (*session).cmdPASS},
		"AUTH":    {fn: (*session).cmdAUTH, arg: true},
		"PBSZ":    {fn: (*session).cmdPBSZ, arg: true},
		"PROT":    {fn: (*session).cmdPROT, arg: true},
		"QUIT":    {fn: (*session).cmdQUIT},
		"NOOP":    {fn: (*session).cmdNOOP, anytime: true},
		"SYST":    {fn: (*session).cmdSYST},
		"FEAT":    {fn: (*session).cmdFEAT},
		"OPTS":    {fn: (*session).cmdOPTS, arg: true},
		"HELP":    {fn: (*session).cmdHELP},
		"STAT":    {fn: (*session).cmdSTAT, anytime: true},
		"TYPE":    {fn: (*session).cmdTYPE, login: true, arg: true},
		"MODE":    {fn: (*session).cmdMODE, login: true, arg: true},
		"STRU":    {fn: (*session).cmdSTRU, login: true, arg: true},
		"PWD":     {fn: (*session).cmdPWD, login: true},
		"XPWD":    {fn: (*session).cmdPWD, login: true},
		"CWD":     {fn: (*session).cmdCWD, login: true},
		"XCWD":    {fn: (*session).cmdCWD, login: true},
		"CDUP":    {fn: (*session).cmdCDUP, login: true},
		"XCUP":    {fn: (*session).cmdCDUP, login: true},
		"MKD":     {fn: (*session).cmdMKD, login: true, arg: true},
		"XMKD":    {fn: (*session).cmdMKD, login: true, arg: true},
		"RMD":     {fn: (*session).cmdRMD, login: true, arg: true},
		"XRMD":    {fn: (*session).cmdRMD, login: true, arg: true},
		"DELE":    {fn: (*session).cmdDELE, login: true, arg: true},
		"RNFR":    {fn: (*session).cmdRNFR, login: true, arg: true},
		"RNTO":    {fn: (*session).cmdRNTO, login: true, arg: true},
		"SIZE":    {fn: (*session).cmdSIZE, login: true, arg: true},
		"MDTM":    {fn: (*session).cmdMDTM, login: true, arg: true},
		"MFMT":    {fn: (*session).cmdMFMT, login: true, arg: true},
		"LIST":    {fn: (*session).cmdLIST, login: true},
		"NLST":    {fn: (*session).cmdNLST, login: true},
		"MLSD":    {fn: (*session).cmdMLSD, login: true},
		"MLST":    {fn: (*session).cmdMLST, login: true},
		"RETR":    {fn: (*session).cmdRETR, login: true, arg: true},
		"STOR":    {fn: (*session).cmdSTOR, login: true, arg: true},
		"STOU":    {fn: (*session).cmdSTOU, login: true},
		"APPE":    {fn: (*session).cmdAPPE, login: true, arg: true},
		"REST":    {fn: (*session).cmdREST, login: true, arg: true},
		"ABOR":    {fn: (*session).cmdABOR, anytime: true},
		"ALLO":    {fn: (*session).cmdALLO, login: true},
		"PASV":    {fn: (*session).cmdPASV, login: true},
		"EPSV":    {fn: (*session).cmdEPSV, login: true},
		"PORT":    {fn: (*session).cmdPORT, login: true, arg: true},
		"EPRT":    {fn: (*session).cmdEPRT, login: true, arg: true},
		"SITE":    {fn: (*session).cmdSITE, login: true, arg: true},
		"HASH":    {fn: (*session).cmdHASH, login: true, arg: true},
		"XMD5":    {fn: (*session).cmdXMD5, login: true, arg: true},
		"XSHA1":   {fn: (*session).cmdXSHA1, login: true, arg: true},
		"XSHA256": {fn: (*session).cmdXSHA256, login: true, arg: true},
	}
}

// helpText lists the commands for HELP, eight to a line.
var helpText = []string{
	"The following commands are recognized:",
	"ABOR ALLO APPE AUTH CDUP CWD  DELE EPRT",
	"EPSV FEAT HASH HELP LIST MDTM MFMT MKD ",
	"MLSD MLST MODE NLST NOOP OPTS PASS PASV",
	"PBSZ PORT PROT PWD  QUIT REST RETR RMD ",
	"RNFR RNTO SITE SIZE STAT STOR STOU STRU",
	"SYST TYPE USER XCUP XCWD XMD5 XMKD XPWD",
	"XRMD XSHA1 XSHA256",
	"Help OK",
}
