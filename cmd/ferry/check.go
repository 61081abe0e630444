package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/listen"
	"github.com/ferry-project/ferry/probe"
)

func init() {
	register("check", "probe a server from outside: ports, TLS, passive range, NAT", runCheck)
}

func runCheck(args []string) error {
	fs := flag.NewFlagSet("ferry check", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: ferry check HOST [flags]\n\nThe password for --user is read from the FERRY_PASSWORD environment variable.\nPorts come from --config; the port flags override it (0 skips a service).")
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "", "the server's configuration `FILE`, for its ports (default: embedded defaults)")
	user := fs.String("user", "", "log in as `NAME` (password from FERRY_PASSWORD) to test PASV, EPSV, SFTP and the API")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "limit for each connection attempt and reply")
	sample := fs.Int("sample", 8, "how many ports of the passive range to try")
	ftpPort := fs.Int("ftp-port", -1, "FTP / explicit FTPS control port (default: from the config)")
	implicitPort := fs.Int("implicit-port", -1, "implicit FTPS port (default: from the config)")
	sftpPort := fs.Int("sftp-port", -1, "SFTP port (default: from the config)")
	httpPort := fs.Int("http-port", -1, "HTTP port (default: from the config)")
	httpsPort := fs.Int("https-port", -1, "HTTPS port (default: from the config)")
	passive := fs.String("passive-ports", "", "passive range `LOW-HIGH` (default: from the config)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("give exactly one HOST")
	}
	if *sample < 1 || *timeout <= 0 {
		return errors.New("--sample and --timeout must be positive")
	}
	cfg, err := config.Load(config.Resolve(*cfgPath))
	if err != nil {
		return err
	}
	override := func(p *int, v int) {
		if v >= 0 {
			*p = v
		}
	}
	override(&cfg.FTP.Port, *ftpPort)
	override(&cfg.FTP.ImplicitPort, *implicitPort)
	override(&cfg.SFTP.Port, *sftpPort)
	override(&cfg.HTTP.Port, *httpPort)
	override(&cfg.HTTP.HTTPSPort, *httpsPort)
	if *ftpPort == 0 {
		cfg.FTP.Enabled = false
	}
	if *sftpPort == 0 {
		cfg.SFTP.Enabled = false
	}
	if cfg.HTTP.Port == 0 && cfg.HTTP.HTTPSPort == 0 {
		cfg.HTTP.Enabled = false
	}
	if *passive != "" {
		cfg.FTP.PassivePorts = *passive
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("ports: %w", err)
	}
	rep := probe.Run(context.Background(), probe.Options{
		Host: pos[0], Plan: listen.New(cfg), User: *user, Password: os.Getenv("FERRY_PASSWORD"),
		Timeout: *timeout, Sample: *sample,
	})
	if *asJSON {
		err = rep.WriteJSON(os.Stdout)
	} else {
		err = rep.WriteTable(os.Stdout)
	}
	if err != nil {
		return err
	}
	if n := rep.Failed(); n > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%s: %d check(s) failed", pos[0], n)}
	}
	return nil
}
