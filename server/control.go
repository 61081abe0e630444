package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/ferry-project/ferry/config"
	"github.com/ferry-project/ferry/core"
	"github.com/ferry-project/ferry/defend"
	"github.com/ferry-project/ferry/listen"
)

// ControlSocket is the running server's status socket in data_dir.
const ControlSocket = "control.sock"

// Status is what `ferry status` receives from the running server.
type Status struct {
	Time     time.Time          `json:"time"`
	Sessions []core.SessionInfo `json:"sessions"`
	Limits   StatusLimits       `json:"limits"`
	Passive  *StatusPassive     `json:"passive,omitempty"`
	Bans     []StatusBan        `json:"bans"`
}

// StatusLimits are the connection limits in force.
type StatusLimits struct {
	MaxConnections      int `json:"max_connections"`
	MaxConnectionsPerIP int `json:"max_connections_per_ip"`
	MaxSessionsPerUser  int `json:"max_sessions_per_user"`
}

// StatusPassive is the FTP passive pool's use.
type StatusPassive struct {
	Ports string `json:"ports"`
	InUse int    `json:"in_use"`
	Free  int    `json:"free"`
}

// StatusBan is one ban in force.
type StatusBan struct {
	Prefix string    `json:"prefix"`
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// serveControl answers every connection to data_dir/control.sock (0600:
// the administrator's only) with the status as JSON, until ln closes.
func serveControl(cfg *config.Config, cr *core.Core, plan *listen.Plan, def *defend.Defender, log *slog.Logger) (net.Listener, error) {
	path := filepath.Join(cfg.DataDir, ControlSocket)
	os.Remove(path) // left by a killed server
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					log.Warn("control socket", "err", err.Error())
				}
				return
			}
			st := Status{Time: time.Now().UTC(), Sessions: cr.Sessions(), Bans: []StatusBan{}, Limits: StatusLimits{
				MaxConnections: cfg.Limits.MaxConnections, MaxConnectionsPerIP: cfg.Limits.MaxConnectionsPerIP,
				MaxSessionsPerUser: cfg.Limits.MaxSessionsPerUser}}
			if pool := plan.Passive(listen.FTP); pool != nil {
				n := pool.Range().High - pool.Range().Low + 1
				st.Passive = &StatusPassive{Ports: pool.Range().String(), InUse: pool.InUse(), Free: n - pool.InUse()}
			}
			for _, b := range def.Active() {
				st.Bans = append(st.Bans, StatusBan{Prefix: b.Prefix, Until: b.Until.UTC(), Reason: b.Reason})
			}
			sort.Slice(st.Bans, func(i, j int) bool { return st.Bans[i].Prefix < st.Bans[j].Prefix })
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			json.NewEncoder(c).Encode(st)
			c.Close()
		}
	}()
	return ln, nil
}
