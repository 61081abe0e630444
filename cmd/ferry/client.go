package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/ferry-project/ferry/client"
	"github.com/ferry-project/ferry/config"
	"golang.org/x/term"
)

// clientCmd describes one client subcommand for its help and checks.
type clientCmd struct {
	name     string
	args     string // the positional arguments, for the usage line
	summary  string // the line in `ferry -h`
	about    string
	examples []string
	min, max int
	// flags adds the command's own flags.
	flags func(fs *flag.FlagSet, f *clientFlags)
}

// clientFlags are the values of every client flag; each command defines
// the ones it takes.
type clientFlags struct {
	o           client.Options
	activePorts string
	resume      bool
	recursive   bool
	parents     bool
	yes         bool
	parallel    int
	segments    int
	quiet       bool
	asJSON      bool
	debug       bool
	deleteExtra bool
	dryRun      bool
	checksum    bool
}

func transferFlags(fs *flag.FlagSet, f *clientFlags) {
	fs.BoolVar(&f.resume, "c", false, "continue partial transfers (every segment), skip complete files")
	fs.BoolVar(&f.recursive, "r", false, "copy whole folder trees")
	fs.IntVar(&f.parallel, "parallel", 0, "move `N` files at once, over connections that log in once (0: chosen from the round trip, 4 on a LAN)")
	fs.IntVar(&f.segments, "segments", 0, "move one large file in `N` ranges over N connections at once (0: chosen from the round trip, 1: never)")
}

var clientCmds = []clientCmd{
	{name: "ls", args: "URL", summary: "list a folder (or one file) on a server: ls URL",
		about:    "List a folder on the server, or describe one file: type, size, time, name.",
		examples: []string{"ferry ls sftp://alice@files.example.net/reports/", "ferry ls --json ftps://alice@files.example.net/"},
		min:      1, max: 1},
	{name: "get", args: "URL [LOCAL|-]", summary: "download: get URL [LOCAL]",
		about: "Download a file, or a folder tree with -r. LOCAL defaults to the remote name in the\n" +
			"current folder; an existing folder receives the remote name inside it; \"-\" writes\n" +
			"the file to standard output. Write \"#\", \"?\" and \"%\" in a URL as %23, %3F and %25.",
		examples: []string{
			"ferry get sftp://alice@files.example.net/reports/q3.pdf",
			"ferry get -r -c ftps://alice@files.example.net/photos ./photos",
			"ferry get --segments 8 https://alice@files.example.net/images/disk.iso",
			"ferry get https://alice@files.example.net/notes.txt - | less",
			"ferry get -r davs://alice@files.example.net/dav/photos ./photos",
		},
		min: 1, max: 2,
		flags: transferFlags},
	{name: "put", args: "LOCAL|- URL", summary: "upload: put LOCAL URL",
		about: "Upload a file, or a folder tree with -r. A URL naming a folder (or ending in \"/\")\n" +
			"receives the local name inside it. \"-\" reads standard input; the URL then names the file.",
		examples: []string{
			"ferry put q3.pdf sftp://alice@files.example.net/reports/",
			"ferry put -r --parents ./site ftpes://alice@files.example.net/www/new/site",
			"tar c . | ferry put - https://alice@files.example.net/backup.tar",
			"ferry put -r ./site davs://alice@www.example.net/site",
		},
		min: 2, max: 2,
		flags: func(fs *flag.FlagSet, f *clientFlags) {
			transferFlags(fs, f)
			fs.BoolVar(&f.parents, "parents", false, "create missing folders of the destination on the server")
		}},
	{name: "rm", args: "URL", summary: "delete a file or folder on a server: rm [-r] URL",
		about: "Delete a file or an empty folder; with -r a folder and everything in it (symbolic\n" +
			"links are deleted, never followed). -r asks first on a terminal; elsewhere give --yes.",
		examples: []string{"ferry rm sftp://alice@files.example.net/old.log", "ferry rm -r --yes ftps://alice@files.example.net/tmp/build"},
		min:      1, max: 1,
		flags: func(fs *flag.FlagSet, f *clientFlags) {
			fs.BoolVar(&f.recursive, "r", false, "delete a folder and everything in it")
			fs.BoolVar(&f.yes, "yes", false, "do not ask before rm -r")
		}},
	{name: "mkdir", args: "URL", summary: "create a folder on a server: mkdir [-p] URL",
		about:    "Create a folder on the server; with -p also its missing parents, and an existing folder is no error.",
		examples: []string{"ferry mkdir sftp://alice@files.example.net/reports/2025", "ferry mkdir -p ftps://alice@files.example.net/a/b/c"},
		min:      1, max: 1,
		flags: func(fs *flag.FlagSet, f *clientFlags) {
			fs.BoolVar(&f.parents, "p", false, "create missing parents; an existing folder is no error")
		}},
	{name: "mv", args: "URL NEWPATH", summary: "rename on a server: mv URL NEWPATH",
		about:    "Rename or move a file or folder on the server. NEWPATH is a path on the same server.",
		examples: []string{"ferry mv sftp://alice@files.example.net/draft.txt /final.txt"},
		min:      2, max: 2},
}

func init() {
	for _, c := range clientCmds {
		register(c.name, c.summary, func(a []string) error { return runClient(c, a) })
	}
}

// newClientFlags makes a command's flag set with its help.
func newClientFlags(c clientCmd) (*flag.FlagSet, *clientFlags) {
	fs := flag.NewFlagSet("ferry "+c.name, flag.ContinueOnError)
	f := &clientFlags{}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: ferry %s %s [flags]\n\n%s\n\nexamples:\n", c.name, c.args, c.about)
		for _, e := range c.examples {
			fmt.Fprintln(w, "  "+e)
		}
		fmt.Fprintln(w, "\nURL: ftp:// ftpes:// (explicit TLS) ftps:// (implicit TLS) sftp:// https:// http://\n"+
			"(ferry's API) davs:// dav:// (WebDAV: nginx, Apache, ferry's /dav);\n"+
			"the password comes from the URL, $FERRY_PASSWORD or a prompt. See docs/client.md.\n\nflags:")
		fs.PrintDefaults()
	}
	if c.flags != nil {
		c.flags(fs, f)
	}
	o := &f.o
	fs.StringVar(&o.User, "user", "", "user `NAME` (overrides the URL's)")
	fs.StringVar(&o.Identity, "identity", "", "SSH private key `FILE` (the SSH agent is used as well)")
	fs.BoolVar(&o.Insecure, "insecure", false, "accept any certificate or host key")
	fs.BoolVar(&o.NoTLS, "no-tls", false, "ftp://: stay in cleartext even when the server offers TLS")
	fs.StringVar(&o.KnownHosts, "known-hosts", "", "trust-on-first-use `FILE` for TLS certificates (default $FERRY_KNOWN_HOSTS or ~/.config/ferry/known_hosts)")
	fs.BoolVar(&o.Active, "active", false, "FTP: active mode (the server connects back)")
	fs.StringVar(&o.ActiveAddress, "active-address", "", "FTP active mode: the `ADDR` to announce in PORT/EPRT (the public one behind NAT)")
	fs.StringVar(&f.activePorts, "active-ports", "", "FTP active mode: listen on a port in `LOW-HIGH`")
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Second, "connect and idle timeout")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress or notices")
	fs.BoolVar(&f.quiet, "q", false, "same as --quiet")
	fs.BoolVar(&f.asJSON, "json", false, "print a JSON line per file and a JSON summary on standard output")
	fs.BoolVar(&f.debug, "debug", false, "trace the protocol dialogue on standard error (passwords hidden)")
	return fs, f
}

// parseClient parses a command's arguments into its flags and options.
func parseClient(c clientCmd, args []string) ([]string, *clientFlags, error) {
	fs, f := newClientFlags(c)
	pos, err := parseFlags(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil, err
		}
		return nil, nil, &exitError{client.ExitUsage, err}
	}
	if len(pos) < c.min || len(pos) > c.max {
		return nil, nil, &exitError{client.ExitUsage, fmt.Errorf("wrong number of arguments; run 'ferry %s -h'", c.name)}
	}
	if f.activePorts != "" {
		pr, err := config.ParsePortRange(f.activePorts)
		if err != nil {
			return nil, nil, &exitError{client.ExitUsage, fmt.Errorf("--active-ports: %w", err)}
		}
		f.o.ActivePorts = client.PortRange{Low: pr.Low, High: pr.High}
	}
	if f.o.ActiveAddress != "" || f.activePorts != "" {
		f.o.Active = true
	}
	if f.parallel < 0 || f.parallel > 64 {
		return nil, nil, &exitError{client.ExitUsage, errors.New("--parallel: want 0 (automatic) to 64")}
	}
	if f.segments < 0 || f.segments > 32 {
		return nil, nil, &exitError{client.ExitUsage, errors.New("--segments: want 0 (automatic) to 32")}
	}
	f.o.Password = os.Getenv("FERRY_PASSWORD")
	f.o.Prompt = client.PromptTerminal
	if !f.quiet {
		f.o.Notice = os.Stderr
	}
	if f.debug {
		f.o.Trace = os.Stderr
	}
	return pos, f, nil
}

// poolSize is how many connections a command may open: one per parallel
// file, or per segment when a file is split into more. With --parallel 0
// the round trip chooses how many files move at once, over up to
// autoConns connections (SFTP and HTTP carry several files on each).
func (f *clientFlags) poolSize() int {
	segs := f.segments
	if segs == 0 {
		segs = 8
	}
	par := f.parallel
	if par == 0 {
		par = autoConns
	}
	return max(par, segs, 1)
}

// autoConns bounds the connections of --parallel 0: under ferry's
// default limits.max_connections_per_ip (20).
const autoConns = 16

// newTransfer sets up the transfer of a command: its progress display
// and the interrupt that stops it cleanly.
func newTransfer(f *clientFlags, pool *client.Pool) (*client.Transfer, func()) {
	x := &client.Transfer{Pool: pool, Resume: f.resume, Recursive: f.recursive, Parallel: f.parallel,
		Segments: f.segments, Parents: f.parents, Notice: f.o.Notice}
	done := func() {}
	switch {
	case f.asJSON:
		x.Progress = client.NewJSONProgress(os.Stdout)
	case !f.quiet && term.IsTerminal(int(os.Stderr.Fd())) && client.PrepareTerminal(os.Stderr):
		p := client.NewTermProgress(os.Stderr, func() int {
			w, _, err := term.GetSize(int(os.Stderr.Fd()))
			if err != nil {
				return 0
			}
			return w
		})
		x.Progress = p
		done = p.Close
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	stop := make(chan struct{})
	go func() {
		select {
		case <-sig:
			signal.Stop(sig) // a second interrupt ends the process at once
			x.Interrupt()
		case <-stop:
		}
	}()
	return x, func() { close(stop); signal.Stop(sig); done() }
}

func runClient(c clientCmd, args []string) error {
	pos, f, err := parseClient(c, args)
	if err != nil {
		return err
	}
	rawURL := pos[0]
	if c.name == "put" {
		rawURL = pos[1]
	}
	if f.asJSON && c.name == "get" && len(pos) > 1 && pos[1] == "-" {
		return &exitError{client.ExitUsage, errors.New("--json and \"-\" both want standard output")}
	}
	if c.name == "rm" && f.recursive && !f.yes && !term.IsTerminal(int(os.Stdin.Fd())) {
		return &exitError{client.ExitUsage, errors.New("rm -r deletes a whole tree: give --yes (no terminal to ask on)")}
	}
	sum := client.Summary{Command: c.name, URL: client.Redact(rawURL)}
	start := time.Now()
	var files []client.File
	err = func() error {
		t, err := client.ParseURL(rawURL)
		if err != nil {
			return err
		}
		size := 1
		if c.name == "get" || c.name == "put" || c.name == "rm" && f.recursive {
			size = f.poolSize()
		}
		pool, err := client.NewPool(t, f.o, size)
		if err != nil {
			return err
		}
		defer pool.Close()
		x, done := newTransfer(f, pool)
		defer func() { done(); files = x.Files }()
		return clientDo(c.name, pos, t, f, x, pool, &sum)
	}()
	sum.Finish(files, start, err)
	if f.asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	}
	if err != nil {
		return &exitError{client.ExitCode(err), err}
	}
	return nil
}

func clientDo(name string, pos []string, t client.Target, f *clientFlags, x *client.Transfer, pool *client.Pool, sum *client.Summary) error {
	c, err := pool.Get()
	if err != nil {
		return err
	}
	pool.Put(c)
	switch name {
	case "ls":
		es, err := client.List(c, t.Path)
		if err != nil {
			return err
		}
		sum.Entries = es
		if !f.asJSON {
			client.PrintEntries(os.Stdout, es)
		}
		return nil
	case "get":
		switch {
		case len(pos) > 1 && pos[1] == "-":
			if f.recursive || f.resume {
				return client.UsageError("\"-\" (standard output) takes one file: drop -r and -c")
			}
			return x.GetTo(t.Path, os.Stdout)
		case len(pos) > 1:
			return x.Get(t.Path, pos[1])
		}
		return x.Get(t.Path, "")
	case "put":
		if pos[0] == "-" {
			if f.recursive || f.resume {
				return client.UsageError("\"-\" (standard input) takes one file: drop -r and -c")
			}
			return x.PutFrom(os.Stdin, t.Path)
		}
		return x.Put(pos[0], t.Path)
	case "rm":
		if !f.recursive {
			return client.Remove(c, t.Path)
		}
		if !f.yes {
			ok, err := client.Confirm(fmt.Sprintf("delete %s and everything in it? [y/N] ", sum.URL))
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("not confirmed: nothing deleted")
			}
		}
		n, err := x.RemoveAll(t.Path)
		if n > 0 && !f.quiet && !f.asJSON {
			fmt.Fprintf(os.Stderr, "ferry: deleted %d files and folders\n", n)
		}
		return err
	case "mkdir":
		if f.parents {
			return client.MkdirAll(c, t.Path)
		}
		return c.Mkdir(t.Path)
	case "mv":
		return c.Rename(t.Path, pos[1])
	}
	return fmt.Errorf("unknown command %s", strings.TrimSpace(name))
}
