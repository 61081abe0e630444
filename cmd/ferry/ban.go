package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferry-project/ferry/defend"
	"github.com/ferry-project/ferry/store"
)

func init() {
	register("ban", "list, add or lift the defender's bans (a running server follows within seconds)", runBan)
}

func runBan(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ferry ban list | add ADDR [--for DURATION] | del ADDR [--config FILE]")
	}
	fs := flag.NewFlagSet("ban "+args[0], flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	var dur time.Duration
	if args[0] == "add" {
		fs.DurationVar(&dur, "for", 0, "how long (default lockout.duration)")
	}
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	cfg, st, err := openStore(*cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := context.Background()
	switch {
	case args[0] == "list" && len(rest) == 0:
		bans, err := st.Bans(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PREFIX\tUNTIL\tREASON\tOFFENCES")
		now := time.Now()
		for _, b := range bans {
			if b.Active(now) {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", b.Prefix, b.Until.UTC().Format(time.RFC3339), b.Reason, b.Offences)
			}
		}
		return tw.Flush()
	case (args[0] == "add" || args[0] == "del") && len(rest) == 1:
		p, err := banPrefix(rest[0], cfg.Lockout.IPv6Prefix)
		if err != nil {
			return err
		}
		if args[0] == "del" {
			if err := st.Unban(ctx, p.String()); err != nil {
				return err
			}
			fmt.Printf("lifted the ban of %s\n", p)
			return nil
		}
		if dur <= 0 {
			dur = cfg.Lockout.Duration.Duration
		}
		offences := 1
		if bans, err := st.Bans(ctx); err == nil {
			for _, b := range bans {
				if b.Prefix == p.String() {
					offences = b.Offences + 1
				}
			}
		}
		until := time.Now().Add(dur)
		if err := st.PutBan(ctx, store.Ban{Prefix: p.String(), Until: until, Reason: "ferry ban add", Offences: offences}); err != nil {
			return err
		}
		fmt.Printf("banned %s until %s\n", p, until.UTC().Format(time.RFC3339))
		return nil
	}
	return errors.New("usage: ferry ban list | add ADDR [--for DURATION] | del ADDR [--config FILE]")
}

// banPrefix is what ADDR names: an address is banned by its defender key
// (an IPv6 address by its lockout.ipv6_prefix), a prefix as written.
func banPrefix(s string, ipv6Bits int) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a prefix", s)
	}
	return defend.Key(a, ipv6Bits), nil
}
