package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ferry-project/ferry/client"
)

var mirrorCmd = clientCmd{
	name: "mirror", args: "SRC DST", summary: "make a folder like another, one way: mirror SRC DST",
	about: "Make the folder DST like the folder SRC, one way; one of them is a URL, the other a local\n" +
		"folder. A file is copied when DST lacks it or has another size or modification time\n" +
		"(copies keep the source's time; over HTTPS, whose server keeps upload times, when the\n" +
		"source is newer); with --checksum, files of the same size are compared by content (the\n" +
		"server's SHA-256, SHA-1 or MD5 against this machine's) instead of time, where the server\n" +
		"offers hashes (ferry does over FTP, SFTP and HTTPS). --delete removes what SRC does not\n" +
		"have; --dry-run prints the plan and changes nothing. Symbolic links in SRC are followed (never into a loop).",
	examples: []string{
		"ferry mirror ./site sftp://alice@www.example.net/var/www/site --delete",
		"ferry mirror ftps://alice@files.example.net/photos ./photos --dry-run",
		"ferry mirror --json https://alice@files.example.net/reports ./reports",
		"ferry mirror --checksum ./site ftpes://alice@files.example.net/www",
	},
	min: 2, max: 2,
	flags: func(fs *flag.FlagSet, f *clientFlags) {
		fs.IntVar(&f.parallel, "parallel", 0, "copy `N` files at once, over connections that log in once (0: chosen from the round trip, 4 on a LAN)")
		fs.IntVar(&f.segments, "segments", 0, "copy one large file in `N` ranges over N connections at once (0: chosen from the round trip, 1: never)")
		fs.BoolVar(&f.deleteExtra, "delete", false, "delete what the source does not have")
		fs.BoolVar(&f.dryRun, "dry-run", false, "print what would be done, change nothing")
		fs.BoolVar(&f.checksum, "checksum", false, "compare files of the same size by hash, not by time (size and time where the server offers no hashes)")
	},
}

func init() {
	register(mirrorCmd.name, mirrorCmd.summary, func(a []string) error { return runMirror(a) })
}

func isURL(s string) bool { return strings.Contains(s, "://") }

func runMirror(args []string) error {
	pos, f, err := parseClient(mirrorCmd, args)
	if err != nil {
		return err
	}
	src, dst := pos[0], pos[1]
	if isURL(src) == isURL(dst) {
		return &exitError{client.ExitUsage, fmt.Errorf("one of SRC and DST must be a URL and the other a local folder; run 'ferry mirror -h'")}
	}
	m := &client.Mirror{Up: !isURL(src), Delete: f.deleteExtra, DryRun: f.dryRun, Checksum: f.checksum}
	rawURL := src
	if m.Up {
		rawURL = dst
	}
	sum := client.Summary{Command: "mirror", URL: client.Redact(rawURL)}
	start := time.Now()
	var files []client.File
	err = func() error {
		t, err := client.ParseURL(rawURL)
		if err != nil {
			return err
		}
		pool, err := client.NewPool(t, f.o, f.poolSize())
		if err != nil {
			return err
		}
		defer pool.Close()
		x, done := newTransfer(f, pool)
		defer func() { done(); files = x.Files }()
		if m.Up {
			err = m.Run(x, src, t.Path)
		} else {
			err = m.Run(x, t.Path, dst)
		}
		sum.Actions = m.Actions
		return err
	}()
	if !f.asJSON && (!f.quiet || f.dryRun) {
		for _, a := range m.Actions {
			fmt.Println(a)
		}
	}
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
