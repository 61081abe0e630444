package config

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file. Field tags are the TOML keys.
type Config struct {
	DataDir string `toml:"data_dir"`
	// Store is where users, keys, bans, quotas and web sessions live: ""
	// for the embedded SQLite file in DataDir (one node), or a PostgreSQL
	// URL that every node of a cluster shares. The password may come from
	// PGPASSWORD or ~/.pgpass instead of the URL.
	Store         string `toml:"store"`
	PublicHost    string `toml:"public_host"`
	ListenAddress string `toml:"listen_address"`
	LogFormat     string `toml:"log_format"`
	LogLevel      string `toml:"log_level"`
	RunAs         string `toml:"run_as"`
	// AuditLog is the audit log's file, relative to DataDir unless
	// absolute; "" turns it off. AuditMaxMB rotates it past that size
	// (0: never) and AuditKeep rotated files are kept.
	AuditLog   string `toml:"audit_log"`
	AuditMaxMB int    `toml:"audit_max_mb"`
	AuditKeep  int    `toml:"audit_keep"`
	// AuditSHA256 adds the SHA-256 of every file that passed whole to its
	// upload or download line. It costs a core's worth of hashing per
	// transfer (~400 MB/s here) and an upload its splice(2) path:
	// bench/ftp.sh measured plain FTP downloads at 649 MB/s with it against
	// 1184 MB/s without, so it is off unless asked for.
	AuditSHA256 bool `toml:"audit_sha256"`
	// Storage holds every home on object storage ("s3://bucket/prefix?…",
	// a folder per user); "" keeps them on the disk. See S3.
	Storage string `toml:"storage"`
	// Source is the file the configuration was read from ("" for the
	// embedded defaults); not a key.
	Source string `toml:"-"`

	FTP       FTP       `toml:"ftp"`
	SFTP      SFTP      `toml:"sftp"`
	HTTP      HTTP      `toml:"http"`
	TLS       TLS       `toml:"tls"`
	Users     Users     `toml:"users"`
	Limits    Limits    `toml:"limits"`
	Lockout   Lockout   `toml:"lockout"`
	Bandwidth Bandwidth `toml:"bandwidth"`
	Metrics   Metrics   `toml:"metrics"`
	Uploads   Uploads   `toml:"uploads"`
	S3        S3        `toml:"s3"`
	// ProxyProtocol: the real client address from a load balancer.
	ProxyProtocol ProxyProtocol `toml:"proxy_protocol"`
	Notify        []Notify      `toml:"notify"` // config/notify.go
}

// FTP configures FTP with explicit FTPS, implicit FTPS and their data
// connections.
type FTP struct {
	Enabled          bool              `toml:"enabled"`
	Port             int               `toml:"port"`
	ImplicitPort     int               `toml:"implicit_port"`
	TLS              string            `toml:"tls"`
	PassivePorts     string            `toml:"passive_ports"`
	Active           bool              `toml:"active"`
	ActiveSourcePort int               `toml:"active_source_port"`
	TLSSessionReuse  string            `toml:"tls_session_reuse"`
	PassivePerUser   int               `toml:"passive_per_user"` // passive ports one account may hold at once
	PassiveSharing   bool              `toml:"passive_sharing"`  // clients from different addresses may wait on one port
	PassiveOverride  []PassiveOverride `toml:"passive_override"`
	passive          PortRange
}

// PassiveOverride gives clients from Networks another address in passive
// replies; an empty Address means the server's own local address.
type PassiveOverride struct {
	Networks []string `toml:"networks"`
	Address  string   `toml:"address"`
	nets     []*net.IPNet
}

// SFTP configures the SSH server that carries the SFTP subsystem.
type SFTP struct {
	Enabled bool `toml:"enabled"`
	Port    int  `toml:"port"`
}

// HTTP configures the web client and the REST API.
type HTTP struct {
	Enabled       bool  `toml:"enabled"`
	Port          int   `toml:"port"`
	HTTPSPort     int   `toml:"https_port"`
	MaxUploadSize int64 `toml:"max_upload_size"`
	// Require2FA makes every web login need a second factor (TOTP).
	Require2FA bool `toml:"require_2fa"`
	// FTPPasswordsFor2FA lets users to whom two-factor applies still log
	// in with a password over FTP, FTPS and SFTP, which have no second
	// factor; off, they get in there with SFTP keys only.
	FTPPasswordsFor2FA bool `toml:"ftp_passwords_for_2fa"`
}

// TLS names the certificate shared by FTPS and HTTPS.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// ACMEDomains turns on automatic certificates (RFC 8555) for these
	// names, used by HTTPS and both FTPS ports.
	ACMEDomains   []string `toml:"acme_domains"`
	ACMEEmail     string   `toml:"acme_email"`
	ACMEDirectory string   `toml:"acme_directory"` // "" = Let's Encrypt's production directory
	ACMECAFile    string   `toml:"acme_ca_file"`   // extra CA for a private ACME server's own HTTPS
}

// Users holds the policy for accounts that `ferry user` creates.
type Users struct {
	MinPasswordLength int `toml:"min_password_length"`
}

// Limits bounds what clients can make the server spend, for every
// protocol. Connections that have not logged in yet have their own budget
// (MaxPrelogin), so strangers cannot take the slots of logged-in users.
type Limits struct {
	MaxConnections      int      `toml:"max_connections"`        // logged-in sessions, every protocol together
	MaxConnectionsPerIP int      `toml:"max_connections_per_ip"` // connections from one address, logged in or not
	MaxPrelogin         int      `toml:"max_prelogin"`           // connections not yet logged in; when full the oldest is dropped
	MaxPreloginPerIP    int      `toml:"max_prelogin_per_ip"`    // of those, from one address; checked before any handshake
	MaxSessionsPerUser  int      `toml:"max_sessions_per_user"`  // logged-in sessions of one account, every protocol; 0 = no cap
	LoginTimeout        Duration `toml:"login_timeout"`
	IdleTimeout         Duration `toml:"idle_timeout"`
	StallTimeout        Duration `toml:"stall_timeout"` // a transfer that moves no byte this long is cut
	ShutdownTimeout     Duration `toml:"shutdown_timeout"`
	PasswordHashes      int      `toml:"password_hashes"` // password checks at once; 0 = 2 per core
	PasswordWait        Duration `toml:"password_wait"`   // a login that waits longer for a check is refused
}

// Lockout configures the defender, which refuses a client address (IPv6:
// its prefix) across every protocol after too many offences: each failed
// login scores 1, a login to a name with no account UnknownUserWeight,
// an escape attempt EscapeWeight, a malformed, unknown or refused command
// CommandWeight (past a session's first three), a refused data connection
// DataWeight (0 turns one off); a score of
// MaxFailures within Window bans the address for Duration, doubled for
// each earlier ban of the same address up to MaxDuration. Bans are kept
// in the store and survive restarts. Allow is never banned; Deny is
// always refused.
type Lockout struct {
	MaxFailures  int      `toml:"max_failures"`
	Window       Duration `toml:"window"`
	Duration     Duration `toml:"duration"`
	MaxDuration  Duration `toml:"max_duration"`
	EscapeWeight int      `toml:"escape_weight"`
	// The weights of the other offences (0: not scored).
	UnknownUserWeight int      `toml:"unknown_user_weight"`
	CommandWeight     int      `toml:"command_weight"`
	DataWeight        int      `toml:"data_weight"`
	IPv6Prefix        int      `toml:"ipv6_prefix"`
	Allow             []string `toml:"allow"`
	Deny              []string `toml:"deny"`
	// UserFailures failed logins to one account within Window, from any
	// addresses, slow every later login to it by UserDelay (0: off). The
	// account is slowed, never locked, so nobody can lock a partner out.
	UserFailures int      `toml:"user_failures"`
	UserDelay    Duration `toml:"user_delay"`
}

// Duration is a time.Duration written in TOML as a string such as "5m".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (examples: \"30s\", \"5m\"): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go prints it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// Values of ftp.tls_session_reuse: which TLS session a protected data
// connection must resume.
const (
	ReuseUser       = "user"       // one issued to the same logged-in user from the same address
	ReuseConnection = "connection" // one issued on this very control connection
	ReuseOff        = "off"        // any, or a fresh handshake
)

// TLS modes for explicit FTPS on the control port.
const (
	TLSRequired = "required"
	TLSOptional = "optional"
	TLSOff      = "off"
)

// Default returns the configuration that ferry runs on without a file.
func Default() *Config {
	return &Config{
		DataDir:    "ferry-data",
		LogFormat:  "text",
		LogLevel:   "info",
		AuditLog:   "audit.jsonl",
		AuditMaxMB: 100,
		AuditKeep:  10,
		FTP: FTP{
			Enabled:          true,
			Port:             21,
			ImplicitPort:     990,
			TLS:              TLSRequired,
			PassivePorts:     "28000-30000",
			Active:           true,
			ActiveSourcePort: -1,
			TLSSessionReuse:  ReuseUser,
			PassivePerUser:   20,
			PassiveSharing:   true,
		},
		SFTP:  SFTP{Enabled: true, Port: 22},
		HTTP:  HTTP{Enabled: true, Port: 80, HTTPSPort: 443},
		TLS:   TLS{ACMEDomains: []string{}},
		Users: Users{MinPasswordLength: 12},
		Limits: Limits{
			MaxConnections:      1000,
			MaxConnectionsPerIP: 20,
			MaxPrelogin:         256,
			MaxPreloginPerIP:    32,
			LoginTimeout:        Duration{20 * time.Second},
			IdleTimeout:         Duration{5 * time.Minute},
			StallTimeout:        Duration{60 * time.Second},
			ShutdownTimeout:     Duration{30 * time.Second},
			PasswordWait:        Duration{5 * time.Second},
		},
		Uploads:       Uploads{Interrupted: InterruptedDiscard},
		S3:            S3{PartSizeMB: 16},
		ProxyProtocol: ProxyProtocol{Trusted: []string{}},
		Lockout: Lockout{
			MaxFailures:  10,
			Window:       Duration{5 * time.Minute},
			Duration:     Duration{15 * time.Minute},
			MaxDuration:  Duration{24 * time.Hour},
			EscapeWeight: 1,
			// A name with no account is what scanners try first (root,
			// admin, test); a wrong password is what users do.
			UnknownUserWeight: 2,
			CommandWeight:     1,
			DataWeight:        2,
			IPv6Prefix:        64,
			Allow:             []string{},
			Deny:              []string{},
			UserFailures:      20,
			UserDelay:         Duration{2 * time.Second},
		},
	}
}

// Load reads path over the defaults and validates the result. An empty
// path yields the validated defaults. Relative paths in the file (data_dir,
// tls.cert_file, tls.key_file) are taken relative to the file's folder, so
// a configuration means the same from any working directory.
func Load(path string) (*Config, error) {
	if path == "" {
		c := Default()
		return c, c.Validate()
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Source, _ = filepath.Abs(path)
	dir := filepath.Dir(path)
	for _, p := range append([]*string{&c.DataDir, &c.TLS.CertFile, &c.TLS.KeyFile, &c.TLS.ACMECAFile}, c.notifyPaths()...) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return c, nil
}

// EnvConfig is the environment variable that names the configuration file
// when --config does not.
const EnvConfig = "FERRY_CONFIG"

// Resolve names the configuration file every subcommand uses: flag (the
// --config value) when set, else $FERRY_CONFIG, else the system file
// (SystemPath) when it exists, else "" for the embedded defaults.
func Resolve(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv(EnvConfig); env != "" {
		return env
	}
	if _, err := os.Stat(SystemPath); err == nil {
		return SystemPath
	}
	return ""
}

// Parse decodes TOML over the defaults, refuses unknown keys and validates.
func Parse(b []byte) (*Config, error) {
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(c)
	if err != nil {
		return nil, err
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s", strings.Join(keys, ", "))
	}
	return c, c.Validate()
}

// KeyError names the configuration key at fault.
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Reason }

func keyErr(key, format string, a ...any) error {
	return &KeyError{Key: key, Reason: fmt.Sprintf(format, a...)}
}

// PassiveRange is the validated ftp.passive_ports.
func (f *FTP) PassiveRange() PortRange { return f.passive }

// IPNets are the parsed networks of the override.
func (o *PassiveOverride) IPNets() []*net.IPNet { return o.nets }

// ActiveSource is the source port of active data connections for a control
// port: RFC 959's L-1 when active_source_port is -1, 0 for any port.
func (f *FTP) ActiveSource(controlPort int) int {
	if f.ActiveSourcePort < 0 {
		return controlPort - 1
	}
	return f.ActiveSourcePort
}

// Validate checks every value and names the first bad key.
func (c *Config) Validate() error {
	if strings.TrimSpace(c.DataDir) == "" {
		return keyErr("data_dir", "must not be empty")
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		return keyErr("store", "must be \"\" (SQLite in data_dir) or a postgres:// URL")
	}
	if c.ListenAddress != "" && net.ParseIP(c.ListenAddress) == nil {
		return keyErr("listen_address", "%q is not an IP address (\"\" listens on every address)", c.ListenAddress)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return keyErr("log_level", "%q: must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return keyErr("log_format", "%q: must be text or json", c.LogFormat)
	}
	if c.AuditMaxMB < 0 {
		return keyErr("audit_max_mb", "%d: must be 0 (no rotation) or more", c.AuditMaxMB)
	}
	if c.AuditKeep < 0 {
		return keyErr("audit_keep", "%d: must be 0 or more", c.AuditKeep)
	}
	if strings.ContainsAny(c.PublicHost, " /:[]") && net.ParseIP(c.PublicHost) == nil {
		return keyErr("public_host", "%q is neither an IP address nor a host name", c.PublicHost)
	}
	type used struct {
		key  string
		port int
	}
	var ports []used
	port := func(key string, p int, zeroOff bool) error {
		if zeroOff && p == 0 {
			return nil
		}
		if p < 1 || p > 65535 {
			if zeroOff {
				return keyErr(key, "%d is out of range: use 1-65535, or 0 to turn it off", p)
			}
			return keyErr(key, "%d is out of range: use 1-65535", p)
		}
		for _, u := range ports {
			if u.port == p {
				return keyErr(key, "port %d is already used by %s", p, u.key)
			}
		}
		ports = append(ports, used{key, p})
		return nil
	}
	f := &c.FTP
	if f.Enabled {
		if err := port("ftp.port", f.Port, false); err != nil {
			return err
		}
		if err := port("ftp.implicit_port", f.ImplicitPort, true); err != nil {
			return err
		}
		switch f.TLS {
		case TLSRequired, TLSOptional, TLSOff:
		default:
			return keyErr("ftp.tls", "%q: must be required, optional or off", f.TLS)
		}
		switch f.TLSSessionReuse {
		case "required": // the name before "user" and "connection" existed
			f.TLSSessionReuse = ReuseUser
		case ReuseUser, ReuseConnection, ReuseOff:
		default:
			return keyErr("ftp.tls_session_reuse", "%q: must be user, connection or off", f.TLSSessionReuse)
		}
		r, err := ParsePortRange(f.PassivePorts)
		if err != nil {
			return keyErr("ftp.passive_ports", "%v", err)
		}
		f.passive = r
		if f.ActiveSourcePort < -1 || f.ActiveSourcePort > 65535 {
			return keyErr("ftp.active_source_port", "%d: use -1 (control port - 1), 0 (any port) or 1-65535", f.ActiveSourcePort)
		}
		for i := range f.PassiveOverride {
			o := &f.PassiveOverride[i]
			key := fmt.Sprintf("ftp.passive_override[%d]", i)
			if len(o.Networks) == 0 {
				return keyErr(key+".networks", "must list at least one network")
			}
			o.nets = o.nets[:0]
			for _, n := range o.Networks {
				if !strings.Contains(n, "/") {
					if ip := net.ParseIP(n); ip != nil {
						if ip.To4() != nil {
							n += "/32"
						} else {
							n += "/128"
						}
					}
				}
				_, ipn, err := net.ParseCIDR(n)
				if err != nil {
					return keyErr(key+".networks", "%q is not a network such as \"10.0.0.0/8\"", n)
				}
				o.nets = append(o.nets, ipn)
			}
			if o.Address != "" && strings.ContainsAny(o.Address, " /") {
				return keyErr(key+".address", "%q is neither an IP address nor a host name", o.Address)
			}
		}
	}
	if c.SFTP.Enabled {
		if err := port("sftp.port", c.SFTP.Port, false); err != nil {
			return err
		}
	}
	if c.HTTP.Enabled {
		if err := port("http.port", c.HTTP.Port, true); err != nil {
			return err
		}
		if err := port("http.https_port", c.HTTP.HTTPSPort, true); err != nil {
			return err
		}
		if c.HTTP.Port == 0 && c.HTTP.HTTPSPort == 0 {
			return keyErr("http.port", "both http.port and http.https_port are 0: set enabled = false instead")
		}
		if c.HTTP.MaxUploadSize < 0 {
			return keyErr("http.max_upload_size", "must be 0 (no limit) or a size in bytes")
		}
	}
	if f.Enabled {
		r := f.passive
		for _, u := range ports {
			if r.Contains(u.port) {
				return keyErr("ftp.passive_ports", "range %s overlaps port %d of %s", r, u.port, u.key)
			}
		}
		if f.Active {
			for _, cp := range []int{f.Port, f.ImplicitPort} {
				if cp == 0 {
					continue
				}
				src := f.ActiveSource(cp)
				if src < 0 || src > 65535 {
					return keyErr("ftp.active_source_port", "control port %d has no port below it; set a source port", cp)
				}
				if r.Contains(src) {
					return keyErr("ftp.active_source_port", "source port %d lies inside ftp.passive_ports %s", src, r)
				}
			}
		}
	}
	if c.RunAs != "" && c.FTP.Enabled && c.FTP.PassiveRange().Low < 1024 {
		return keyErr("ftp.passive_ports", "ports below 1024 cannot be opened after ferry drops to run_as %q", c.RunAs)
	}
	if c.FTP.PassivePerUser < 1 {
		return keyErr("ftp.passive_per_user", "must be at least 1")
	}
	if len(c.TLS.ACMEDomains) > 0 {
		switch {
		case c.TLS.CertFile != "":
			return keyErr("tls.acme_domains", "automatic certificates and tls.cert_file exclude each other")
		case !c.HTTP.Enabled || c.HTTP.Port == 0 && c.HTTP.HTTPSPort == 0:
			return keyErr("tls.acme_domains", "the ACME challenges (RFC 8555 §8.3, RFC 8737) need the HTTP or HTTPS listener")
		}
		for _, d := range c.TLS.ACMEDomains {
			if d == "" || strings.ContainsAny(d, "/: ") || net.ParseIP(d) != nil {
				return keyErr("tls.acme_domains", "%q is not a host name", d)
			}
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return keyErr("tls.cert_file", "cert_file and key_file go together: set both or neither")
	}
	if c.Users.MinPasswordLength < 1 {
		return keyErr("users.min_password_length", "must be at least 1")
	}
	l := &c.Limits
	if l.MaxConnections < 1 {
		return keyErr("limits.max_connections", "must be at least 1")
	}
	if l.MaxConnectionsPerIP < 1 {
		return keyErr("limits.max_connections_per_ip", "must be at least 1")
	}
	if l.MaxPrelogin < 1 {
		return keyErr("limits.max_prelogin", "must be at least 1")
	}
	if l.MaxPreloginPerIP < 1 || l.MaxPreloginPerIP > l.MaxPrelogin {
		return keyErr("limits.max_prelogin_per_ip", "must be at least 1 and at most limits.max_prelogin (%d)", l.MaxPrelogin)
	}
	if l.PasswordHashes < 0 {
		return keyErr("limits.password_hashes", "must be 0 (2 per core) or more")
	}
	for key, d := range map[string]Duration{"limits.login_timeout": l.LoginTimeout, "limits.idle_timeout": l.IdleTimeout,
		"limits.stall_timeout": l.StallTimeout, "limits.shutdown_timeout": l.ShutdownTimeout, "limits.password_wait": l.PasswordWait} {
		if d.Duration <= 0 {
			return keyErr(key, "must be positive")
		}
	}
	if c.Lockout.MaxFailures < 0 {
		return keyErr("lockout.max_failures", "must be 0 (off) or more")
	}
	if c.Lockout.MaxFailures > 0 && (c.Lockout.Window.Duration <= 0 || c.Lockout.Duration.Duration <= 0) {
		return keyErr("lockout.window", "window and duration must be positive when max_failures is set")
	}
	if c.Limits.MaxSessionsPerUser < 0 {
		return keyErr("limits.max_sessions_per_user", "%d: must be 0 (no cap) or more", c.Limits.MaxSessionsPerUser)
	}
	if b := c.Bandwidth; b.Upload < 0 || b.Download < 0 || b.UserUpload < 0 || b.UserDownload < 0 {
		return keyErr("bandwidth", "limits are bytes per second, 0 or more")
	}
	if c.Metrics.Listen != "" {
		_, port, err := net.SplitHostPort(c.Metrics.Listen)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 {
			return keyErr("metrics.listen", "%q: want host:port, e.g. \"127.0.0.1:9464\"", c.Metrics.Listen)
		}
	}
	if err := c.Lockout.validate(); err != nil {
		return err
	}
	if err := c.Uploads.validate(); err != nil {
		return err
	}
	if err := c.validateTransfers(); err != nil {
		return err
	}
	if err := c.ProxyProtocol.validate(); err != nil {
		return err
	}
	if !c.FTP.Enabled && !c.SFTP.Enabled && !c.HTTP.Enabled {
		return errors.New("every protocol is disabled: enable at least one of ftp, sftp, http")
	}
	return validateNotify(c.Notify)
}

// AuditPath is the audit log's file, or "" when it is off.
func (c *Config) AuditPath() string {
	if c.AuditLog == "" || filepath.IsAbs(c.AuditLog) {
		return c.AuditLog
	}
	return filepath.Join(c.DataDir, c.AuditLog)
}
