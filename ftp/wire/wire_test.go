package wire

import (
	"bufio"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line, verb, arg string
		bad             bool
	}{
		{line: "USER alice\r\n", verb: "USER", arg: "alice"},
		{line: "user alice\r\n", verb: "USER", arg: "alice"},
		{line: "PWD\r\n", verb: "PWD"},
		{line: "NOOP\n", verb: "NOOP"},
		{line: "STOR  two spaces \r\n", verb: "STOR", arg: " two spaces "},
		{line: "RETR résumé.txt\r\n", verb: "RETR", arg: "résumé.txt"},
		{line: "\xff\xf4\xff\xf2ABOR\r\n", verb: "ABOR"},
		{line: "RETR a\xff\xffb\r\n", bad: true}, // 0xFF is not UTF-8 after unescaping
		{line: "\r\n", bad: true},
		{line: "AB\r\n", bad: true},
		{line: "ABCDEFGH x\r\n", bad: true},
		{line: "1ABC x\r\n", bad: true},
		{line: "XSHA256 a\r\n", verb: "XSHA256", arg: "a"},
		{line: "RE1R x\r\n", bad: true},
		{line: "RETR a\x00b\r\n", bad: true},
		{line: "RETR a\rb\r\n", bad: true},
		{line: "RETR \xc3\r\n", bad: true},
	} {
		c, err := ParseCommand(tc.line)
		if tc.bad {
			if err == nil || !errors.Is(err, ErrSyntax) {
				t.Errorf("ParseCommand(%q) = %+v, %v; want a syntax error", tc.line, c, err)
			}
			continue
		}
		if err != nil || c.Verb != tc.verb || c.Arg != tc.arg {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %s %q", tc.line, c, err, tc.verb, tc.arg)
		}
	}
}

func TestReplyFormatAndRead(t *testing.T) {
	for _, tc := range []struct {
		r    Reply
		wire string
	}{
		{Reply{200, []string{"OK"}}, "200 OK\r\n"},
		{Reply{211, []string{"Features:", "EPSV", "UTF8", "End"}}, "211-Features:\r\n EPSV\r\n UTF8\r\n211 End\r\n"},
		{Reply{214, []string{"help", "214 looks like an end", "done"}}, "214-help\r\n 214 looks like an end\r\n214 done\r\n"},
	} {
		if got := tc.r.Format(); got != tc.wire {
			t.Errorf("Format(%v) = %q, want %q", tc.r, got, tc.wire)
		}
		got, err := ReadReply(bufio.NewReader(strings.NewReader(tc.wire)))
		if err != nil || got.Code != tc.r.Code || got.Text() != tc.r.Text() {
			t.Errorf("ReadReply(%q) = %v, %v", tc.wire, got, err)
		}
	}
	// Another server's layout: continuation lines carrying the code.
	got, err := ReadReply(bufio.NewReader(strings.NewReader("230-Welcome\r\n230-second\r\n230 Login ok\r\n")))
	if err != nil || got.Code != 230 || len(got.Lines) != 3 || got.Lines[2] != "Login ok" {
		t.Errorf("coded continuation: %v, %v", got, err)
	}
	for _, bad := range []string{"", "20\r\n", "abc hello\r\n", "200xhello\r\n", "211-start\r\n more\r\n", "999 x\r\n", strings.Repeat("2", MaxLine+10)} {
		if r, err := ReadReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("ReadReply(%q) = %v, want an error", bad, r)
		}
	}
}

func TestPORT(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want string
	}{
		{"127,0,0,1,4,1", "127.0.0.1:1025"},
		{" 10,1,2,3,255,255", "10.1.2.3:65535"},
		{"192,168,0,1,0,21", "192.168.0.1:21"},
		{"1,2,3,4,5", ""},
		{"1,2,3,4,5,6,7", ""},
		{"256,0,0,1,4,1", ""},
		{"-1,0,0,1,4,1", ""},
		{"a,b,c,d,e,f", ""},
		{"127,0,0,1,0,0", ""},
		{"", ""},
	} {
		ap, err := ParsePORT(tc.arg)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParsePORT(%q) = %v, want an error", tc.arg, ap)
			}
			continue
		}
		if err != nil || ap.String() != tc.want {
			t.Errorf("ParsePORT(%q) = %v, %v; want %s", tc.arg, ap, err, tc.want)
			continue
		}
		s, err := FormatPORT(ap)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParsePORT(s); err != nil || back != ap {
			t.Errorf("round trip %v -> %q -> %v, %v", ap, s, back, err)
		}
	}
	if _, err := FormatPORT(netip.MustParseAddrPort("[::1]:2000")); err == nil {
		t.Error("FormatPORT accepted IPv6")
	}
	if s, err := FormatPORT(netip.MustParseAddrPort("[::ffff:10.0.0.1]:2000")); err != nil || s != "10,0,0,1,7,208" {
		t.Errorf("FormatPORT(mapped) = %q, %v", s, err)
	}
}

func TestPASV(t *testing.T) {
	ap := netip.MustParseAddrPort("203.0.113.7:28001")
	text, err := FormatPASV(ap)
	if err != nil || text != "Entering Passive Mode (203,0,113,7,109,97)." {
		t.Fatalf("FormatPASV = %q, %v", text, err)
	}
	for _, tc := range []struct{ text, want string }{
		{text, ap.String()},
		{"Entering Passive Mode 10,0,0,1,100,1", "10.0.0.1:25601"},
		{"=127,0,0,1,4,1", "127.0.0.1:1025"},
		{"version 2 mode (127,0,0,1,4,1)", "127.0.0.1:1025"},
		{"no address", ""},
		{"(1,2,3)", ""},
	} {
		got, err := ParsePASV(tc.text)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParsePASV(%q) = %v, want an error", tc.text, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("ParsePASV(%q) = %v, %v; want %s", tc.text, got, err, tc.want)
		}
	}
}

func TestEPRT(t *testing.T) {
	for _, tc := range []struct {
		arg, want string
		proto     bool
	}{
		{arg: "|1|127.0.0.1|4000|", want: "127.0.0.1:4000"},
		{arg: "|2|::1|4000|", want: "[::1]:4000"},
		{arg: "!2!2001:db8::5!65535!", want: "[2001:db8::5]:65535"},
		{arg: "|1|::1|4000|"},
		{arg: "|2|127.0.0.1|4000|"},
		{arg: "|2|::ffff:127.0.0.1|4000|"},
		{arg: "|3|127.0.0.1|4000|", proto: true},
		{arg: "|1|127.0.0.1|0|"},
		{arg: "|1|127.0.0.1|65536|"},
		{arg: "|1|127.0.0.1|4000"},
		{arg: "1|127.0.0.1|4000|"},
		{arg: "|2|fe80::1%eth0|4000|"},
		{arg: ""},
	} {
		ap, err := ParseEPRT(tc.arg)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseEPRT(%q) = %v, want an error", tc.arg, ap)
			}
			if errors.Is(err, ErrProtocol) != tc.proto {
				t.Errorf("ParseEPRT(%q): ErrProtocol = %v, want %v", tc.arg, errors.Is(err, ErrProtocol), tc.proto)
			}
			continue
		}
		if err != nil || ap.String() != tc.want {
			t.Errorf("ParseEPRT(%q) = %v, %v; want %s", tc.arg, ap, err, tc.want)
			continue
		}
		if back, err := ParseEPRT(FormatEPRT(ap)); err != nil || back != ap {
			t.Errorf("round trip %v: %v, %v", ap, back, err)
		}
	}
}

func TestEPSV(t *testing.T) {
	if s := FormatEPSV(28000); s != "Entering Extended Passive Mode (|||28000|)." {
		t.Fatalf("FormatEPSV = %q", s)
	}
	for _, tc := range []struct {
		text string
		want uint16
	}{
		{FormatEPSV(28000), 28000},
		{"ok (!!!1025!)", 1025},
		{"(|||0|)", 0},
		{"(|||70000|)", 0},
		{"(||1|2|)", 0},
		{"no port", 0},
		{"()", 0},
	} {
		got, err := ParseEPSV(tc.text)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("ParseEPSV(%q) = %d, want an error", tc.text, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseEPSV(%q) = %d, %v; want %d", tc.text, got, err, tc.want)
		}
	}
}
