package core_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/store"
)

// TestSecondFactorGate: a user to whom two-factor applies gets no
// password login over FTP or SFTP (unless http.ftp_passwords_for_2fa),
// keeps it over HTTPS; wrong codes are counted by the lockout.
func TestSecondFactorGate(t *testing.T) {
	st, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	hash, _ := auth.HashPassword("pw")
	if err := st.Add(ctx, store.User{Name: "u", PasswordHash: hash, Home: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	conn := func(svc listen.Service, ftpPasswords bool) *core.Conn {
		cfg := config.Default()
		cfg.HTTP.FTPPasswordsFor2FA = ftpPasswords
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		cr, err := core.New(core.Options{Config: cfg, Auth: auth.New(st, auth.NewLockout(3, time.Minute, time.Minute), auth.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		cli, srv := net.Pipe()
		t.Cleanup(func() { cli.Close(); srv.Close() })
		cn, err := cr.Admit(srv, svc)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cn.Close)
		return cn
	}
	if _, err := conn(listen.FTP, false).Password(ctx, "u", "pw"); err != nil {
		t.Fatalf("FTP password before 2FA: %v", err)
	}
	if err := st.SetRequire2FA(ctx, "u", true); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []listen.Service{listen.FTP, listen.SFTP, listen.FTPImplicit} {
		_, err := conn(svc, false).Password(ctx, "u", "pw")
		if !errors.Is(err, core.ErrSecondFactor) || !errors.Is(err, auth.ErrDenied) {
			t.Fatalf("%s password of a 2FA user: %v", svc, err)
		}
	}
	if _, err := conn(listen.HTTPS, false).Password(ctx, "u", "pw"); err != nil {
		t.Fatalf("HTTPS password of a 2FA user (the code comes next): %v", err)
	}
	if _, err := conn(listen.FTP, true).Password(ctx, "u", "pw"); err != nil {
		t.Fatalf("FTP password with ftp_passwords_for_2fa: %v", err)
	}

	cn := conn(listen.HTTPS, false)
	wrong := func() (bool, error) { return false, nil }
	for i := range 3 {
		if err := cn.Code(ctx, "u", wrong); !errors.Is(err, auth.ErrDenied) {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	ran := false
	err = cn.Code(ctx, "u", func() (bool, error) { ran = true; return true, nil })
	if !errors.Is(err, auth.ErrLocked) || ran {
		t.Fatalf("code after 3 failures: %v (checked: %v)", err, ran)
	}
}
