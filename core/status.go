package core

import (
	"sort"
	"time"
)

// SessionInfo is one logged-in session as `ferry status` shows it.
type SessionInfo struct {
	ID       uint64    `json:"id"`
	Protocol string    `json:"protocol"`
	User     string    `json:"user"`
	Remote   string    `json:"remote"`
	Method   string    `json:"method"`
	Since    time.Time `json:"since"`
	// Transfers are the files moving now, oldest first.
	Transfers []TransferInfo `json:"transfers"`
}

// Sessions lists the logged-in sessions, oldest first.
func (c *Core) Sessions() []SessionInfo {
	c.mu.Lock()
	conns := make([]*Conn, 0, len(c.open))
	for _, cn := range c.open {
		conns = append(conns, cn)
	}
	c.mu.Unlock()
	out := make([]SessionInfo, 0, len(conns))
	now := time.Now()
	for _, cn := range conns {
		cn.mu.Lock()
		si := SessionInfo{ID: cn.ID, Protocol: string(cn.Service), User: cn.user.Name, Remote: cn.Remote.String(),
			Method: cn.method, Since: cn.start.UTC(), Transfers: []TransferInfo{}}
		for p := range cn.moving {
			si.Transfers = append(si.Transfers, p.info(now))
		}
		cn.mu.Unlock()
		sort.Slice(si.Transfers, func(i, j int) bool { return si.Transfers[i].Since.Before(si.Transfers[j].Since) })
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
