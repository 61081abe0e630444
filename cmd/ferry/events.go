package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/notify"
)

func init() {
	register("events", "notifications: `events test RULE` sends a sample event through a [[notify]] rule", runEvents)
}

func runEvents(args []string) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: ferry events test RULE [--config FILE]")
		fs.PrintDefaults()
	}
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 2 || rest[0] != "test" {
		fs.Usage()
		return &exitError{2, fmt.Errorf("want: test RULE")}
	}
	cfg, err := config.Load(config.Resolve(*cfgPath))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return notify.Test(ctx, cfg, rest[1], os.Stdout)
}
