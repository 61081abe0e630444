package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/server"
)

func init() {
	register("status", "show the running server's sessions, passive ports and bans", runStatus)
}

func runStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	c, err := net.DialTimeout("unix", filepath.Join(cfg.DataDir, server.ControlSocket), 5*time.Second)
	if err != nil {
		return fmt.Errorf("no running server answers in %s: %w", cfg.DataDir, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	raw, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := os.Stdout.Write(raw)
		return err
	}
	var st server.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("the server's answer: %w", err)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "sessions: %d (limits: %d in all, %d per address, %d per user; 0 = none)\n", len(st.Sessions),
		st.Limits.MaxConnections, st.Limits.MaxConnectionsPerIP, st.Limits.MaxSessionsPerUser)
	fmt.Fprintln(tw, "ID\tPROTOCOL\tUSER\tREMOTE\tSINCE")
	for _, s := range st.Sessions {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", s.ID, s.Protocol, s.User, s.Remote, s.Since.Format(time.RFC3339))
		for _, x := range s.Transfers {
			fmt.Fprintf(tw, "\t  %s %s: %d bytes, %s/s\n", x.Direction, x.Path, x.Bytes, humanBytes(x.Rate))
		}
	}
	if p := st.Passive; p != nil {
		fmt.Fprintf(tw, "passive ports %s: %d in use, %d free\n", p.Ports, p.InUse, p.Free)
	}
	fmt.Fprintf(tw, "bans: %d\n", len(st.Bans))
	for _, b := range st.Bans {
		fmt.Fprintf(tw, "%s\tuntil %s\t%s\n", b.Prefix, b.Until.Format(time.RFC3339), b.Reason)
	}
	return tw.Flush()
}

// humanBytes writes n bytes in the largest binary unit that keeps it at
// 1 or more ("512 B", "1.5 MiB").
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), 0
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i-1])
}
