package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ferry-project/ferry/client"
	"github.com/ferry-project/ferry/config"
	"golang.org/x/term"
)

func init() {
	register("ls", "list a folder on a server: ls URL", func(a []string) error { return runClient("ls", a) })
	register("get", "download: get URL [LOCAL]", func(a []string) error { return runClient("get", a) })
	register("put", "upload: put LOCAL URL", func(a []string) error { return runClient("put", a) })
	register("rm", "delete a file (or an empty folder) on a server: rm URL", func(a []string) error { return runClient("rm", a) })
	register("mkdir", "create a folder on a server: mkdir URL", func(a []string) error { return runClient("mkdir", a) })
	register("mv", "rename on a server: mv URL NEWPATH", func(a []string) error { return runClient("mv", a) })
}

// clientArgs is how many positional arguments each command takes.
var clientArgs = map[string][2]int{"ls": {1, 1}, "get": {1, 2}, "put": {2, 2}, "rm": {1, 1}, "mkdir": {1, 1}, "mv": {2, 2}}

func runClient(name string, args []string) error {
	fs := flag.NewFlagSet("ferry "+name, flag.ContinueOnError)
	var o client.Options
	fs.StringVar(&o.User, "user", "", "user `NAME` (overrides the URL's); the password comes from the URL, $FERRY_PASSWORD or a prompt")
	fs.StringVar(&o.Identity, "identity", "", "SSH private key `FILE` (the SSH agent is used as well)")
	fs.BoolVar(&o.Insecure, "insecure", false, "accept any certificate or host key")
	fs.BoolVar(&o.NoTLS, "no-tls", false, "ftp://: stay in cleartext even when the server offers TLS")
	fs.StringVar(&o.KnownHosts, "known-hosts", "", "trust-on-first-use `FILE` for TLS certificates (default $FERRY_KNOWN_HOSTS or ~/.config/ferry/known_hosts)")
	fs.BoolVar(&o.Active, "active", false, "FTP: active mode (the server connects back)")
	fs.StringVar(&o.ActiveAddress, "active-address", "", "FTP active mode: the `ADDR` to announce in PORT/EPRT (the public one behind NAT)")
	activePorts := fs.String("active-ports", "", "FTP active mode: listen on a port in `LOW-HIGH`")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "connect and idle timeout")
	resume := fs.Bool("c", false, "continue partial transfers, skip complete ones")
	recursive := fs.Bool("r", false, "get/put whole folder trees")
	quiet := fs.Bool("quiet", false, "no progress bar or notices")
	fs.BoolVar(quiet, "q", false, "same as --quiet")
	asJSON := fs.Bool("json", false, "print a JSON summary on standard output")
	debug := fs.Bool("debug", false, "trace the protocol dialogue on standard error (passwords hidden)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return &exitError{client.ExitUsage, err}
	}
	want := clientArgs[name]
	if len(pos) < want[0] || len(pos) > want[1] {
		return &exitError{client.ExitUsage, fmt.Errorf("wrong number of arguments; run 'ferry %s -h'", name)}
	}
	if *activePorts != "" {
		pr, err := config.ParsePortRange(*activePorts)
		if err != nil {
			return &exitError{client.ExitUsage, fmt.Errorf("--active-ports: %w", err)}
		}
		o.ActivePorts = client.PortRange{Low: pr.Low, High: pr.High}
	}
	if o.ActiveAddress != "" || *activePorts != "" {
		o.Active = true
	}
	o.Password = os.Getenv("FERRY_PASSWORD")
	o.Prompt = client.PromptTerminal
	if !*quiet {
		o.Notice = os.Stderr
	}
	if *debug {
		o.Trace = os.Stderr
	}
	rawURL := pos[0]
	if name == "put" {
		rawURL = pos[1]
	}
	sum := client.Summary{Command: name, URL: client.Redact(rawURL)}
	start := time.Now()
	x := &client.Transfer{Resume: *resume, Recursive: *recursive, Notice: o.Notice}
	if !*quiet && !*asJSON && term.IsTerminal(int(os.Stderr.Fd())) {
		x.Meter = func(n string, total, offset int64) client.Meter { return client.NewBar(os.Stderr, n, total, offset) }
	}
	err = clientDo(name, pos, rawURL, o, x, &sum, *asJSON)
	sum.Finish(x.Files, start, err)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	}
	if err != nil {
		return &exitError{client.ExitCode(err), err}
	}
	return nil
}

func clientDo(name string, pos []string, rawURL string, o client.Options, x *client.Transfer, sum *client.Summary, asJSON bool) error {
	t, err := client.ParseURL(rawURL)
	if err != nil {
		return err
	}
	c, err := client.Dial(t, o)
	if err != nil {
		return err
	}
	defer c.Close()
	x.Conn = c
	switch name {
	case "ls":
		es, err := client.List(c, t.Path)
		if err != nil {
			return err
		}
		sum.Entries = es
		if !asJSON {
			client.PrintEntries(os.Stdout, es)
		}
		return nil
	case "get":
		local := ""
		if len(pos) > 1 {
			local = pos[1]
		}
		return x.Get(t.Path, local)
	case "put":
		return x.Put(pos[0], t.Path)
	case "rm":
		return client.Remove(c, t.Path)
	case "mkdir":
		return c.Mkdir(t.Path)
	case "mv":
		return c.Rename(t.Path, pos[1])
	}
	return nil
}
