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
	for _, cn := range conns {
		cn.mu.Lock()
		out = append(out, SessionInfo{ID: cn.ID, Protocol: string(cn.Service), User: cn.user.Name, Remote: cn.Remote.String(),
			Method: cn.method, Since: cn.start.UTC()})
		cn.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
