package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ferry-project/ferry/store"
	"github.com/ferry-project/ferry/web"
)

func init() {
	register("share", "share links: create, list, revoke", runShare)
}

const shareUsage = "usage: ferry share create USER PATH [--download] [--upload] [--expires 7d] [--password-stdin] [--max-uses N] | list [USER] | revoke ID [--config FILE]"

func runShare(args []string) error {
	if len(args) == 0 {
		return errors.New(shareUsage)
	}
	switch args[0] {
	case "create":
		return shareCreate(args[1:])
	case "list":
		return shareList(args[1:])
	case "revoke":
		return shareRevoke(args[1:])
	case "-h", "--help", "help":
		fmt.Println(shareUsage)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: use create, list or revoke", args[0])
}

// positional parses fs over args that may mix flags and n..m operands.
func positional(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var ops []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		ops = append(ops, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(ops) < min || len(ops) > max {
		return nil, errors.New(shareUsage)
	}
	return ops, nil
}

func shareCreate(args []string) error {
	fs := flag.NewFlagSet("share create", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	down := fs.Bool("download", false, "visitors may download the file, or the folder's files")
	up := fs.Bool("upload", false, "visitors may upload into the folder (a drop box that shows nothing without --download)")
	expires := fs.String("expires", "7d", "lifetime of the link (7d, 12h, 30m; 0 = never)")
	pwStdin := fs.Bool("password-stdin", false, "read a password for the link from standard input")
	maxUses := fs.Int64("max-uses", 0, "downloads and uploads allowed in all (0 = no limit)")
	ops, err := positional(fs, args, 2, 2)
	if err != nil {
		return err
	}
	if !*down && !*up {
		*down = true
	}
	exp, err := web.ParseExpiry(*expires)
	if err != nil {
		return err
	}
	var pw string
	if *pwStdin {
		if pw, err = readPassword(true); err != nil {
			return err
		}
	}
	cfg, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	token, sh, err := web.CreateShare(context.Background(), st, web.ShareSpec{User: ops[0], Path: ops[1], Download: *down, Upload: *up,
		Expires: exp, Password: pw, MaxUses: *maxUses})
	if err != nil {
		return err
	}
	fmt.Printf("share %s of %s:%s\nlink: https://HOST:%d/s/%s\n(the link is shown only now; the store keeps its hash)\n", sh.ID, sh.User, sh.Path, cfg.HTTP.HTTPSPort, token)
	return nil
}

func shareList(args []string) error {
	fs := flag.NewFlagSet("share list", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	ops, err := positional(fs, args, 0, 1)
	if err != nil {
		return err
	}
	_, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	user := ""
	if len(ops) == 1 {
		user = ops[0]
	}
	list, err := st.Shares(context.Background(), user)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tPATH\tALLOWS\tEXPIRES\tUSES\tSTATE")
	now := time.Now()
	for _, sh := range list {
		allows := ""
		if sh.Download {
			allows += "download "
		}
		if sh.Upload {
			allows += "upload "
		}
		if sh.PasswordHash != "" {
			allows += "(password)"
		}
		exp := "never"
		if !sh.Expires.IsZero() {
			exp = sh.Expires.UTC().Format(time.RFC3339)
		}
		uses := fmt.Sprint(sh.Uses)
		if sh.MaxUses > 0 {
			uses += fmt.Sprintf("/%d", sh.MaxUses)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sh.ID, sh.User, sh.Path, allows, exp, uses, shareState(sh, now))
	}
	return tw.Flush()
}

func shareState(sh store.Share, now time.Time) string {
	switch {
	case sh.Revoked:
		return "revoked"
	case !sh.Expires.IsZero() && !now.Before(sh.Expires):
		return "expired"
	case sh.MaxUses > 0 && sh.Uses >= sh.MaxUses:
		return "used up"
	}
	return "active"
}

func shareRevoke(args []string) error {
	fs := flag.NewFlagSet("share revoke", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	ops, err := positional(fs, args, 1, 1)
	if err != nil {
		return err
	}
	_, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RevokeShare(context.Background(), ops[0], ""); err != nil {
		return err
	}
	fmt.Printf("share %s revoked\n", ops[0])
	return nil
}

// twoFA holds the two-factor flags of `ferry user set`.
type twoFA struct{ require, noRequire, reset *bool }

func twoFAFlags(fs *flag.FlagSet) *twoFA {
	return &twoFA{
		require:   fs.Bool("require-2fa", false, "the user must log in to the web with a TOTP code (enrols at the next login)"),
		noRequire: fs.Bool("no-require-2fa", false, "the user no longer must have a second factor"),
		reset:     fs.Bool("reset-2fa", false, "remove the user's TOTP key and recovery codes (a lost phone)"),
	}
}

func (t *twoFA) given() bool { return *t.require || *t.noRequire || *t.reset }

func (t *twoFA) apply(st store.Store, name string) error {
	ctx := context.Background()
	if *t.require && *t.noRequire {
		return errors.New("--require-2fa and --no-require-2fa exclude each other")
	}
	if *t.reset {
		if err := st.DisableTOTP(ctx, name); err != nil {
			return err
		}
		fmt.Printf("two-factor key of %s removed\n", name)
	}
	if *t.require || *t.noRequire {
		if err := st.SetRequire2FA(ctx, name, *t.require); err != nil {
			return err
		}
		fmt.Printf("two-factor for %s: required=%v\n", name, *t.require)
	}
	return nil
}
