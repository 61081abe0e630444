package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ferry-project/ferry/auth"
)

func init() {
	userCommands["key"] = runUserKey
}

const userKeyUsage = `usage: ferry user key add NAME --key FILE [--config FILE]   (FILE in authorized_keys format; - reads standard input)
       ferry user key list NAME [--config FILE]
       ferry user key del NAME SHA256:FINGERPRINT|"KEY LINE" [--config FILE]`

// runUserKey manages the SSH public keys of a user: `ferry user key ...`.
func runUserKey(args []string) error { return userKey(args, os.Stdin, os.Stdout) }

func userKey(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(userKeyUsage)
	}
	fs := flag.NewFlagSet("user key "+args[0], flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	var keyFile *string
	if args[0] == "add" {
		keyFile = fs.String("key", "", "authorized_keys file with the keys to add (- for standard input)")
	}
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"add": 1, "list": 1, "del": 2}[args[0]]
	if want == 0 {
		return fmt.Errorf("unknown subcommand %q\n%s", args[0], userKeyUsage)
	}
	if len(rest) != want {
		return errors.New(userKeyUsage)
	}
	name := rest[0]
	// Parse the keys before touching the store: bad input changes nothing.
	var keys []string
	if keyFile != nil {
		if *keyFile == "" {
			return errors.New("--key FILE is required\n" + userKeyUsage)
		}
		if keys, err = readKeyFile(*keyFile, stdin); err != nil {
			return err
		}
	}
	_, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	u, err := st.Get(ctx, name)
	if err != nil {
		return err
	}
	switch args[0] {
	case "add":
		for _, k := range keys {
			if err := st.AddKey(ctx, name, k); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "added to %s: %s\n", name, auth.KeyFingerprint(k))
		}
	case "list":
		if len(u.Keys) == 0 {
			fmt.Fprintf(stdout, "%s has no SSH keys\n", name)
		}
		for _, k := range u.Keys {
			fmt.Fprintln(stdout, auth.KeyFingerprint(k))
		}
	case "del":
		line, err := auth.FindKey(u.Keys, rest[1])
		if errors.Is(err, auth.ErrNoSuchKey) {
			return fmt.Errorf("%s: %w (see ferry user key list)", name, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := st.DeleteKey(ctx, name, line); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted from %s: %s\n", name, auth.KeyFingerprint(line))
	}
	return nil
}

func readKeyFile(path string, stdin io.Reader) ([]string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	keys, err := auth.ParseKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}
