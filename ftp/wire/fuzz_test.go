package wire

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER alice\r\n", "RETR a b\r\n", "\xff\xf4\xff\xf2ABOR\r\n", "PORT 1,2,3,4,5,6", "", "X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := ParseCommand(line)
		if err != nil {
			return
		}
		if len(c.Verb) < 3 || len(c.Verb) > 7 || strings.ToUpper(c.Verb) != c.Verb {
			t.Fatalf("verb %q from %q", c.Verb, line)
		}
		if !utf8.ValidString(c.Arg) || strings.ContainsAny(c.Arg, "\x00\r\n") {
			t.Fatalf("argument %q from %q", c.Arg, line)
		}
		again, err := ParseCommand(c.String() + "\r\n")
		if err != nil || again != c {
			t.Fatalf("reparse of %q: %+v, %v; want %+v", c.String(), again, err, c)
		}
	})
}

func FuzzParsePORT(f *testing.F) {
	for _, s := range []string{"127,0,0,1,4,1", "1,2,3,4,5", "256,1,1,1,1,1", " 1, 2,3,4,5,6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParsePORT(arg)
		if err != nil {
			return
		}
		if !ap.Addr().Is4() || ap.Port() == 0 {
			t.Fatalf("%q gave %v", arg, ap)
		}
		s, err := FormatPORT(ap)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := ParsePORT(s); err != nil || back != ap {
			t.Fatalf("round trip %q -> %v -> %q -> %v, %v", arg, ap, s, back, err)
		}
		if back, err := ParsePASV("227 Entering Passive Mode (" + s + ")."); err != nil || back != ap {
			t.Fatalf("PASV round trip %v: %v, %v", ap, back, err)
		}
	})
}

func FuzzParseEPRT(f *testing.F) {
	for _, s := range []string{"|1|127.0.0.1|4000|", "|2|::1|4000|", "!2!fe80::1%eth0!1!", "|3|x|1|"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := ParseEPRT(arg)
		if err != nil {
			return
		}
		if ap.Port() == 0 || ap.Addr().Zone() != "" {
			t.Fatalf("%q gave %v", arg, ap)
		}
		if back, err := ParseEPRT(FormatEPRT(ap)); err != nil || back != ap {
			t.Fatalf("round trip %q -> %v -> %v, %v", arg, ap, back, err)
		}
	})
}
