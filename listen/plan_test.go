package listen

import (
	"testing"

	"github.com/ferry-project/ferry/config"
)

func TestPlanDefaults(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := New(c)
	want := []struct {
		s      Service
		k      Kind
		lo, hi int
	}{
		{FTP, Control, 21, 21},
		{FTPImplicit, Control, 990, 990},
		{FTP, Passive, 28000, 30000},
		{FTPImplicit, Passive, 28000, 30000},
		{FTP, Active, 20, 20},
		{FTPImplicit, Active, 989, 989},
		{SFTP, Control, 22, 22},
		{HTTP, Control, 80, 80},
		{HTTPS, Control, 443, 443},
	}
	if len(p.Entries) != len(want) {
		t.Fatalf("plan has %d entries, want %d: %+v", len(p.Entries), len(want), p.Entries)
	}
	for _, w := range want {
		e, ok := p.Find(w.s, w.k)
		if !ok || e.Ports.Low != w.lo || e.Ports.High != w.hi {
			t.Errorf("%s %s: got %+v (found %v), want %d-%d", w.s, w.k, e, ok, w.lo, w.hi)
		}
	}
}

func TestPlanFollowsConfig(t *testing.T) {
	c := config.Default()
	c.FTP.Port, c.FTP.ImplicitPort, c.FTP.Active = 2121, 0, false
	c.FTP.PassivePorts = "40000-40009"
	c.SFTP.Enabled = false
	c.HTTP.HTTPSPort = 0
	c.ListenAddress = "127.0.0.1"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := New(c)
	for _, e := range p.Entries {
		switch {
		case e.Service == FTPImplicit, e.Service == SFTP, e.Service == HTTPS, e.Kind == Active:
			t.Errorf("disabled entry in plan: %+v", e)
		}
	}
	if e, _ := p.Find(FTP, Passive); e.Ports.Low != 40000 || e.Ports.High != 40009 {
		t.Errorf("passive %+v", e)
	}
	if e, _ := p.Find(FTP, Control); p.Addr(e) != "127.0.0.1:2121" {
		t.Errorf("addr %s", p.Addr(e))
	}
	if e, _ := p.Find(HTTP, Control); e.Purpose != "HTTP web client, API and /healthz" {
		t.Errorf("http without https: %q", e.Purpose)
	}
	c.FTP.Active, c.FTP.ActiveSourcePort = true, 0
	if e, _ := New(c).Find(FTP, Active); e.Ports.Low != 0 {
		t.Errorf("any source port: %+v", e)
	}
}

func TestPlanURL(t *testing.T) {
	c := config.Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := New(c)
	want := map[Service]string{FTP: "ftpes://files.example:21/", FTPImplicit: "ftps://files.example:990/",
		SFTP: "sftp://files.example:22/", HTTP: "http://files.example:80/", HTTPS: "https://files.example:443/"}
	for s, w := range want {
		e, _ := p.Find(s, Control)
		if got := p.URL(e, "files.example"); got != w {
			t.Errorf("%s: %s, want %s", s, got, w)
		}
	}
	c.FTP.TLS = config.TLSOptional
	if e, _ := New(c).Find(FTP, Control); New(c).URL(e, "::1") != "ftp://[::1]:21/" {
		t.Errorf("optional TLS on an IPv6 host: %s", New(c).URL(e, "::1"))
	}
}
