package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/ferry-project/ferry/certs"
	"github.com/ferry-project/ferry/store"
)

// Session-ticket keys of a cluster: one new key a day, the last three
// kept, read again by every node every few minutes, so that a node picks
// up another's rotation well before its own tickets would be refused.
const (
	ticketRotate  = 24 * time.Hour
	ticketRefresh = 5 * time.Minute
)

// shareTickets sets the store's ticket keys on t now and keeps them fresh
// until ctx ends. It runs only when the store is shared by several nodes:
// a single node keeps crypto/tls's own keys, which never touch the disk.
func shareTickets(ctx context.Context, st store.Store, t *certs.Tickets, log *slog.Logger) error {
	load := func() error {
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		keys, err := st.TicketKeys(lctx, time.Now(), ticketRotate, certs.NewTicketKey)
		if err != nil {
			return err
		}
		return t.Set(keys)
	}
	if err := load(); err != nil {
		return err
	}
	go func() {
		tick := time.NewTicker(ticketRefresh)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := load(); err != nil {
					log.Warn("tls ticket keys not refreshed from the store", "err", err.Error())
				}
			}
		}
	}()
	return nil
}
