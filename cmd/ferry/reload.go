package main

import (
	"flag"
	"fmt"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/server"
)

func init() {
	register("reload", "make the running server re-read its configuration and certificate", runReload)
}

func runReload(args []string) error {
	fs := flag.NewFlagSet("reload", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("unexpected argument %q", rest[0])
	}
	cfg, err := config.Load(config.Resolve(*cfgPath))
	if err != nil {
		return err
	}
	pid, err := server.Reload(cfg)
	if err != nil {
		return err
	}
	fmt.Printf("asked ferry serve (process %d) to reload; its log says what changed\n", pid)
	return nil
}
