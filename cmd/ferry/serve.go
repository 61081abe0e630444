package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/server"
)

func init() {
	register("serve", "run the FTP/FTPS, SFTP and HTTPS server", runServe)
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (TOML); none: embedded defaults, state in ./ferry-data")
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	level := new(slog.LevelVar)
	level.UnmarshalText([]byte(cfg.LogLevel)) // validated: debug, info, warn or error
	return server.Run(ctx, cfg, server.Options{Log: newLogger(cfg, level), Level: level, Reload: hup})
}

func newLogger(cfg *config.Config, level slog.Leveler) *slog.Logger {
	o := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, o))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, o))
}
