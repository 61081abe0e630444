package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferry-project/ferry/auth"
	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/store"
	"golang.org/x/term"
)

func init() {
	register("user", "manage users: add, list, del, passwd, key", runUser)
}

// userCommands holds the `ferry user` subcommands; files for other
// subcommands add theirs from init.
var userCommands = map[string]func(args []string) error{
	"add":    userAdd,
	"list":   userList,
	"del":    userDel,
	"passwd": userPasswd,
	"set":    userSet,
	"show":   userShow,
}

func runUser(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ferry user add|list|show|set|del|passwd|key|perm|mount ... [--config FILE]")
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Println("usage: ferry user add|list|show|set|del|passwd|key|perm|mount ... [--config FILE]\n\nrun 'ferry user SUBCOMMAND -h' for a subcommand's flags")
		return nil
	}
	run, ok := userCommands[args[0]]
	if !ok {
		return fmt.Errorf("unknown subcommand %q: use add, list, show, set, del, passwd, key, perm or mount", args[0])
	}
	return run(args[1:])
}

// openStore loads the configuration and opens its user store.
func openStore(cfgPath string) (*config.Config, store.Store, error) {
	cfg, err := config.Load(config.Resolve(cfgPath))
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(cfg)
	return cfg, st, err
}

// newPasswordHash reads a new password for name, checks it against the
// password policy and hashes it.
func newPasswordHash(cfg *config.Config, name string, fromStdin bool) (string, error) {
	pw, err := readPassword(fromStdin)
	if err != nil {
		return "", err
	}
	if err := auth.CheckPolicy(name, pw, cfg.Users.MinPasswordLength); err != nil {
		return "", err
	}
	return auth.HashPassword(pw)
}

// readPassword reads a password from standard input (--password-stdin) or
// asks twice on the terminal without echo.
func readPassword(fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("empty password on standard input")
		}
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no terminal to ask for a password: use --password-stdin")
	}
	fmt.Fprint(os.Stderr, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(os.Stderr, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", errors.New("the two passwords differ")
	}
	if len(a) == 0 {
		return "", errors.New("empty password")
	}
	return string(a), nil
}

func userAdd(args []string) error {
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	home := fs.String("home", "", "home directory (default DATA_DIR/homes/NAME), or an s3://bucket/prefix?… URL")
	keyFile := fs.String("key", "", "authorized_keys file with the user's SSH public keys")
	readOnly := fs.Bool("read-only", false, "the user may read but not write, rename or delete")
	anyHome := fs.Bool("allow-any-home", false, "accept a home of / or one that contains data_dir")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return errors.New("usage: ferry user add NAME [--config FILE] [--password-stdin] [--home DIR] [--key FILE] [--read-only] [--allow-any-home]")
	}
	name := rest[0]
	if err := store.ValidName(name); err != nil {
		return err
	}
	var keys []string
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		if keys, err = auth.ParseKeys(b); err != nil {
			return fmt.Errorf("%s: %w", *keyFile, err)
		}
	}
	cfg, err := config.Load(config.Resolve(*cfgPath))
	if err != nil {
		return err
	}
	var hash string
	if *pwStdin || *keyFile == "" {
		if hash, err = newPasswordHash(cfg, name, *pwStdin); err != nil {
			return err
		}
	}
	st, err := store.Open(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, err := store.MakeHome(cfg, name, *home, *anyHome)
	if err != nil {
		return err
	}
	if err := st.Add(context.Background(), store.User{Name: name, PasswordHash: hash, Home: dir, ReadOnly: *readOnly, Keys: keys}); err != nil {
		return err
	}
	fmt.Printf("added user %s (home %s) to %s\n", name, dir, store.Location(cfg))
	return nil
}

func userList(args []string) error {
	fs := flag.NewFlagSet("user list", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	_, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.List(context.Background())
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tACCESS\tPASSWORD\tKEYS\tHOME")
	for _, u := range users {
		access, pw := "read-write", "yes"
		if u.ReadOnly {
			access = "read-only"
		}
		if u.Disabled {
			access += " (disabled)"
		}
		if u.PasswordHash == "" {
			pw = "no"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\n", u.Name, access, pw, len(u.Keys), u.Home)
	}
	return w.Flush()
}

// userStore parses the flags of a subcommand that takes one NAME (flags
// adds the subcommand's own) and opens the configured user store.
func userStore(sub string, args []string, flags func(*flag.FlagSet)) (string, *config.Config, store.Store, error) {
	fs := flag.NewFlagSet("user "+sub, flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	if flags != nil {
		flags(fs)
	}
	name, err := oneUser(fs, args)
	if err != nil {
		return "", nil, nil, err
	}
	cfg, st, err := openStore(*cfgPath)
	return name, cfg, st, err
}

// oneUser parses the flags of a subcommand that takes exactly one NAME.
func oneUser(fs *flag.FlagSet, args []string) (string, error) {
	rest, err := parseFlags(fs, args)
	if err != nil {
		return "", err
	}
	if len(rest) != 1 {
		return "", fmt.Errorf("usage: ferry %s NAME [--config FILE]", fs.Name())
	}
	return rest[0], nil
}

func userDel(args []string) error {
	name, _, st, err := userStore("del", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Delete(context.Background(), name); err != nil {
		return err
	}
	fmt.Printf("deleted user %s (the home directory is kept)\n", name)
	return nil
}

func userPasswd(args []string) error {
	var pwStdin *bool
	name, cfg, st, err := userStore("passwd", args, func(fs *flag.FlagSet) {
		pwStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Get(context.Background(), name); err != nil {
		return err
	}
	hash, err := newPasswordHash(cfg, name, *pwStdin)
	if err != nil {
		return err
	}
	if err := st.SetPassword(context.Background(), name, hash); err != nil {
		return err
	}
	fmt.Printf("password of %s changed\n", name)
	return nil
}

func userSet(args []string) error {
	fs := flag.NewFlagSet("user set", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	home := fs.String("home", "", "new home directory")
	anyHome := fs.Bool("allow-any-home", false, "accept a home of / or one that contains data_dir")
	ro := fs.Bool("read-only", false, "the user may read but not write, rename or delete")
	rw := fs.Bool("read-write", false, "the user may write again")
	off := fs.Bool("disabled", false, "refuse every login of the user (live sessions end at once)")
	on := fs.Bool("enabled", false, "allow the user's logins again")
	quota := quotaFlags(fs)
	twoFA := twoFAFlags(fs)
	name, err := oneUser(fs, args)
	if err != nil {
		return err
	}
	if *ro && *rw || *off && *on {
		return errors.New("--read-only and --read-write, or --disabled and --enabled, exclude each other")
	}
	cfg, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Get(context.Background(), name); err != nil {
		return err
	}
	var ch store.Change
	if *home != "" {
		dir, err := store.MakeHome(cfg, name, *home, *anyHome)
		if err != nil {
			return err
		}
		ch.Home = &dir
	}
	if *ro || *rw {
		ch.ReadOnly = ro
	}
	if *off || *on {
		ch.Disabled = off
	}
	if ch == (store.Change{}) && !quota.given() && !twoFA.given() {
		return errors.New("nothing to change: give --home, --read-only/--read-write, --disabled/--enabled, --quota-bytes/--quota-files or --require-2fa/--no-require-2fa/--reset-2fa")
	}
	if twoFA.given() {
		if err := twoFA.apply(st, name); err != nil {
			return err
		}
	}
	if ch != (store.Change{}) {
		if err := st.Update(context.Background(), name, ch); err != nil {
			return err
		}
		fmt.Printf("changed user %s in %s; a running server ends the user's live sessions within seconds\n", name, store.Location(cfg))
	}
	if quota.given() {
		return quota.apply(st, name)
	}
	return nil
}

func userShow(args []string) error {
	name, _, st, err := userStore("show", args, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.Get(context.Background(), name)
	if err != nil {
		return err
	}
	access, state, pw := "read-write", "enabled", "yes"
	if u.ReadOnly {
		access = "read-only"
	}
	if u.Disabled {
		state = "disabled"
	}
	if u.PasswordHash == "" {
		pw = "no"
	}
	fmt.Printf("name:     %s\nhome:     %s\naccess:   %s\nstate:    %s\npassword: %s\ncreated:  %s\n", u.Name, u.Home, access, state, pw, u.Created.UTC().Format(time.RFC3339))
	for _, k := range u.Keys {
		fmt.Printf("key:      %s\n", auth.KeyFingerprint(k))
	}
	for _, r := range u.Rules {
		fmt.Printf("rule:     %s %s\n", r.Path, r.Rights)
	}
	for _, m := range u.Mounts {
		fmt.Printf("mount:    %s %s%s\n", m.Path, m.Dir, map[bool]string{true: " (read-only)"}[m.ReadOnly])
	}
	return nil
}
