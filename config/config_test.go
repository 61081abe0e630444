package config

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.FTP.Port != 21 || c.FTP.ImplicitPort != 990 || c.SFTP.Port != 22 || c.HTTP.Port != 80 || c.HTTP.HTTPSPort != 443 {
		t.Fatalf("default ports: %+v", c)
	}
	if r := c.FTP.PassiveRange(); r != (PortRange{28000, 30000}) {
		t.Fatalf("passive range %v", r)
	}
	if c.FTP.ActiveSource(21) != 20 || c.FTP.ActiveSource(990) != 989 {
		t.Fatal("active source ports are not control - 1")
	}
	if c.DataDir != "ferry-data" || c.FTP.TLS != "required" || c.FTP.TLSSessionReuse != "user" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
data_dir = "/srv/ferry"
public_host = "ftp.example.org"
[ftp]
port = 2121
implicit_port = 0
passive_ports = "40000-40100"
active_source_port = 0
[[ftp.passive_override]]
networks = ["10.0.0.0/8", "192.168.1.7"]
address = ""
[limits]
idle_timeout = "90s"
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.FTP.Port != 2121 || c.FTP.ImplicitPort != 0 || c.FTP.PassiveRange().Size() != 101 || c.Limits.IdleTimeout.Seconds() != 90 {
		t.Fatalf("parsed %+v", c.FTP)
	}
	if nets := c.FTP.PassiveOverride[0].IPNets(); len(nets) != 2 || nets[1].String() != "192.168.1.7/32" {
		t.Fatalf("override nets %v", nets)
	}
	if c.FTP.ActiveSource(2121) != 0 {
		t.Fatal("active_source_port = 0 must mean any port")
	}
}

func TestValidationNamesTheKey(t *testing.T) {
	for _, tc := range []struct{ toml, key, reason string }{
		{"[ftp]\nport = 0", "ftp.port", "out of range"},
		{"[ftp]\nport = 65536", "ftp.port", "out of range"},
		{"[ftp]\nimplicit_port = -1", "ftp.implicit_port", "out of range"},
		{"[ftp]\npassive_ports = \"30000-28000\"", "ftp.passive_ports", "reversed"},
		{"[ftp]\npassive_ports = \"\"", "ftp.passive_ports", "not a port range"},
		{"[ftp]\npassive_ports = \"abc\"", "ftp.passive_ports", "not a port range"},
		{"[ftp]\npassive_ports = \"0-10\"", "ftp.passive_ports", "1-65535"},
		{"[ftp]\npassive_ports = \"15-25\"", "ftp.passive_ports", "overlaps port 21"},
		{"[ftp]\npassive_ports = \"985-995\"", "ftp.passive_ports", "overlaps port 990"},
		{"[ftp]\npassive_ports = \"2000-2010\"\nport = 2011\nimplicit_port = 0\nactive_source_port = 2005", "ftp.active_source_port", "inside"},
		{"[sftp]\nport = 990", "sftp.port", "already used by ftp.implicit_port"},
		{"[http]\nhttps_port = 80", "http.https_port", "already used by http.port"},
		{"[ftp]\ntls = \"maybe\"", "ftp.tls", "required, optional or off"},
		{"[ftp]\ntls_session_reuse = \"sometimes\"", "ftp.tls_session_reuse", "user, connection or off"},
		{"[ftp]\nactive_source_port = -2", "ftp.active_source_port", ""},
		{"[[ftp.passive_override]]\nnetworks = [\"not-a-net\"]", "ftp.passive_override[0].networks", "not a network"},
		{"[[ftp.passive_override]]\naddress = \"1.2.3.4\"", "ftp.passive_override[0].networks", "at least one"},
		{"[limits]\nidle_timeout = \"soon\"", "idle_timeout", "duration"},
		{"[limits]\nmax_connections_per_ip = 0", "limits.max_connections_per_ip", "at least 1"},
		{"[uploads]\ninterrupted = \"maybe\"", "uploads.interrupted", "discard or keep"},
		{"[uploads]\ninterrupted_users = { alice = \"yes\" }", "uploads.interrupted_users", "alice"},
		{"listen_address = \"example.org\"", "listen_address", "not an IP"},
		{"[tls]\ncert_file = \"/x.pem\"", "tls.cert_file", "together"},
		{"data_dir = \"\"", "data_dir", "empty"},
		{"[ftp]\nenabled = false\n[sftp]\nenabled = false\n[http]\nenabled = false", "", "every protocol is disabled"},
	} {
		_, err := Parse([]byte(tc.toml))
		if err == nil {
			t.Errorf("%q: accepted", tc.toml)
			continue
		}
		if !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%q: error %q does not name %q (%s)", tc.toml, err, tc.key, tc.reason)
		}
	}
}

func TestUnknownKeys(t *testing.T) {
	_, err := Parse([]byte("[ftp]\nprot = 21\n[nope]\nx = 1\n"))
	if err == nil || !strings.Contains(err.Error(), "ftp.prot") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("unknown keys: %v", err)
	}
	var ke *KeyError
	_, err = Parse([]byte("[sftp]\nport = 99999"))
	if !errors.As(err, &ke) || ke.Key != "sftp.port" {
		t.Fatalf("KeyError: %v", err)
	}
}

func TestDisabledProtocolsFreeTheirPorts(t *testing.T) {
	if _, err := Parse([]byte("[ftp]\nenabled = false\n[sftp]\nport = 21")); err != nil {
		t.Fatalf("a disabled ftp still holds port 21: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("[ftp]\nport = 21\npassive_ports = \"1-2\"")
	f.Add("public_host = \"x\"\n[[ftp.passive_override]]\nnetworks=[\"::1\"]")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse([]byte(s))
		if err == nil && c.FTP.Enabled {
			r := c.FTP.PassiveRange()
			if r.Low < 1 || r.High > 65535 || r.Low > r.High {
				t.Fatalf("accepted passive range %v", r)
			}
		}
	})
}

// "required" was the only binding before "user" and "connection" existed:
// configurations that name it keep working, as "user".
func TestSessionReuseAlias(t *testing.T) {
	for in, want := range map[string]string{"required": "user", "user": "user", "connection": "connection", "off": "off"} {
		c, err := Parse([]byte("[ftp]\ntls_session_reuse = \"" + in + "\""))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if c.FTP.TLSSessionReuse != want {
			t.Errorf("%s: became %q, want %q", in, c.FTP.TLSSessionReuse, want)
		}
	}
}

func TestInterruptedPerUser(t *testing.T) {
	c, err := Parse([]byte("[uploads]\ninterrupted = \"discard\"\ninterrupted_users = { alice = \"keep\", \"bob.x\" = \"discard\" }"))
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"alice": InterruptedKeep, "bob.x": InterruptedDiscard, "carol": InterruptedDiscard} {
		if got := c.Uploads.InterruptedFor(user); got != want {
			t.Errorf("%s: %q, want %q", user, got, want)
		}
	}
}
